import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// DNS over TCP (RFC 7766): length-prefixed messages, several per connection, answered in order;
/// idle connections close after `idleMilliseconds`, and at most `maximumConnections` stay open.
package final class TCPServer: @unchecked Sendable {
    // Mutable state is touched only on `loop`'s thread.
    private let engine: DNSEngine
    private let loop: EventLoop
    private var listener: StreamListener?
    private var thread: ThreadHandle?
    /// Called with a query to forward and a completion that writes the answer back.
    package typealias ForwardHandler = @Sendable ([UInt8], @escaping @Sendable ([UInt8]?) -> Void) -> Void
    private let forward: ForwardHandler?

    package init(engine: DNSEngine, forward: ForwardHandler? = nil) throws(SystemCallError) {
        self.engine = engine
        self.forward = forward
        loop = try EventLoop()
    }

    /// Binds and starts serving.
    /// - Returns: the bound address (with the port the kernel chose when `address` had port 0).
    @discardableResult
    package func start(address: SocketAddress, maximumConnections: Int, idleMilliseconds: Int) throws(SystemCallError)
        -> SocketAddress
    {
        let socket = try Sockets.tcpListener(bind: address)
        let bound = try Posix.localAddress(socket.rawValue)
        let worker = engine.makeWorker()
        let listener = StreamListener(
            descriptor: socket, loop: loop, maximumConnections: maximumConnections, idleMilliseconds: idleMilliseconds
        ) { [engine, forward] connection in
            TCPDNSSession(worker: worker, idleMilliseconds: idleMilliseconds, forward: forward, counters: engine.counters)
        }
        listener.onRejected = { [engine] in engine.counters.tcpConnectionsRejected.add(1, ordering: .relaxed) }
        listener.onTimedOut = { [engine] in engine.counters.tcpConnectionsTimedOut.add(1, ordering: .relaxed) }
        self.listener = listener
        try listener.start()
        thread = Threads.start(name: "beacon-tcp") { [loop] in loop.run() }
        return bound
    }

    package func stop() {
        loop.execute { [self] in listener?.stop() }
        loop.stop()
        thread?.join()
    }
}

/// One TCP DNS connection: frames in, answers out, in order.
final class TCPDNSSession: StreamSession {
    private var framer = TCPFramer()
    private let worker: DNSWorker
    private let idleNanoseconds: Int64
    private let forward: TCPServer.ForwardHandler?
    private let counters: DNSCounters

    init(worker: DNSWorker, idleMilliseconds: Int, forward: TCPServer.ForwardHandler?, counters: DNSCounters) {
        self.worker = worker
        idleNanoseconds = Int64(idleMilliseconds) * 1_000_000
        self.forward = forward
        self.counters = counters
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnection) {
        let now = DNSEngine.now()
        connection.deadlineNanoseconds = now.nanoseconds + idleNanoseconds
        framer.append(bytes)
        while connection.isOpen {
            switch framer.next() {
            case .needMore:
                return
            case .zeroLength:
                connection.close()
                return
            case .message(let query):
                counters.tcpQueries.add(1, ordering: .relaxed)
                let outcome = query.withUnsafeBytes { worker.answer($0, transport: .tcp, now: now) }
                switch outcome {
                case .send:
                    let response = worker.writer.bytes
                    connection.send(building: { buffer in
                        buffer.append(UInt8(response.count >> 8))
                        buffer.append(UInt8(truncatingIfNeeded: response.count))
                        buffer.append(contentsOf: response)
                    })
                case .drop:
                    // A response (QR set) or a frame too short for a header gets no reply, but the
                    // length prefix kept the stream in step, so the queries after it are answered
                    // (CONTRACT). RFC 7766 §6.2.5 would allow closing; that lost every query behind it.
                    continue
                case .forward:
                    guard let forward else { continue }
                    connection.pauseReading()
                    let loop = connection.loop
                    let bound = LoopBound(connection, loop: loop)
                    forward(query) { answer in
                        loop.execute {
                            guard let connection = bound.value, connection.isOpen else { return }
                            if let answer {
                                connection.send([UInt8(answer.count >> 8), UInt8(truncatingIfNeeded: answer.count)] + answer)
                            }
                            connection.resumeReading()
                        }
                    }
                    return
                }
            }
        }
    }

    func closed(_ connection: StreamConnection) {}
}
