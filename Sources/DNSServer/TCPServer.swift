import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// DNS over TCP (RFC 7766): length-prefixed messages, several per connection, answered in order,
/// on one event loop per thread (one per CPU by default, as HTTP has).
///
/// The loops accept from one listening socket (a duplicate descriptor each) rather than one
/// SO_REUSEPORT socket each, so that a second server on the same port still fails to bind.
/// Per connection: a message must arrive in full within `messageMilliseconds` of its first byte,
/// and between messages the connection may idle for `idleMilliseconds`. At `maximumConnections`, a
/// new connection takes the place of the one that completed a message least recently.
package final class TCPServer: @unchecked Sendable {
    // `loops`, `listeners` and `threads` are set in `start` before any loop runs, read in `stop`.
    package struct Options: Sendable {
        package var threads = 1
        package var maximumConnections = 4096
        package var idleMilliseconds = 10_000
        package var messageMilliseconds = 2_000
        package init() {}
    }

    private let engine: DNSEngine
    private var loops: [EventLoop] = []
    private var listeners: [StreamListener] = []
    private var threads: [ThreadHandle] = []
    /// Called with a query to forward and a completion that writes the answer back.
    package typealias ForwardHandler = @Sendable ([UInt8], @escaping @Sendable ([UInt8]?) -> Void) -> Void
    private let forward: ForwardHandler?

    package init(engine: DNSEngine, forward: ForwardHandler? = nil) {
        self.engine = engine
        self.forward = forward
    }

    /// Binds and starts serving.
    /// - Returns: the bound address (with the port the kernel chose when `address` had port 0).
    @discardableResult
    package func start(address: SocketAddress, options: Options) throws(SystemCallError) -> SocketAddress {
        let listening = try Sockets.tcpListener(bind: address).take()
        let bound: SocketAddress
        do throws(SystemCallError) {
            bound = try Posix.localAddress(listening)
        } catch {
            Posix.close(listening)
            throw error
        }
        let count = max(1, options.threads)
        // The cap is for the server: shared out over the loops.
        let perLoop = max(1, options.maximumConnections / count)
        let timeouts = TCPDNSSession.Timeouts(
            idleNanoseconds: Int64(options.idleMilliseconds) * 1_000_000,
            messageNanoseconds: Int64(options.messageMilliseconds) * 1_000_000)
        for index in 0..<count {
            // The first listener owns the socket; the others hold duplicates of it.
            let descriptor = index == 0 ? listening : try Posix.duplicate(listening)
            let loop: EventLoop
            do throws(SystemCallError) {
                loop = try EventLoop()
            } catch {
                Posix.close(descriptor)
                throw error
            }
            let worker = engine.makeWorker()
            let output = TCPDNSSession.OutputBuffer()
            let listener = StreamListener(
                descriptor: FileDescriptor(taking: descriptor), loop: loop, maximumConnections: perLoop,
                idleMilliseconds: options.idleMilliseconds
            ) { [engine, forward] connection in
                TCPDNSSession(
                    worker: worker, output: output, timeouts: timeouts, forward: forward, counters: engine.counters)
            }
            listener.evictsWhenFull = true
            listener.onRejected = { [engine] in engine.counters.tcpConnectionsRejected.add(1, ordering: .relaxed) }
            listener.onEvicted = { [engine] in engine.counters.tcpConnectionsEvicted.add(1, ordering: .relaxed) }
            listener.onTimedOut = { [engine] in engine.counters.tcpConnectionsTimedOut.add(1, ordering: .relaxed) }
            try listener.start()
            loops.append(loop)
            listeners.append(listener)
        }
        for (number, loop) in loops.enumerated() {
            threads.append(Threads.start(name: "beacon-tcp-\(number)") { loop.run() })
        }
        return bound
    }

    package func stop() {
        for (loop, listener) in zip(loops, listeners) { loop.execute { listener.stop() } }
        for loop in loops { loop.stop() }
        for thread in threads { thread.join() }
    }
}
