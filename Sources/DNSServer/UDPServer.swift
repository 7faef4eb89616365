import Primitives
import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// UDP DNS: one socket per thread on the same port (SO_REUSEPORT), each reading and answering in
/// batches with buffers allocated once.
package final class UDPServer: Sendable {
    private let engine: DNSEngine
    private let stopping = Atomic<Bool>(false)
    private let handles = Locked<[ThreadHandle]>([])
    /// Called with a query the responder wants forwarded, the sender, and the socket to reply on.
    package typealias ForwardHandler = @Sendable ([UInt8], SocketAddress, CInt) -> Void
    private let forward: ForwardHandler?
    /// `--rrl`: one limiter for every thread of this listener, or nil for no limit.
    private let limiter: ResponseRateLimiter?

    package init(engine: DNSEngine, forward: ForwardHandler? = nil, responsesPerSecond: Int? = nil) {
        self.engine = engine
        self.forward = forward
        limiter = responsesPerSecond.map { ResponseRateLimiter(responsesPerSecond: $0) }
    }

    /// Binds `threads` sockets to `address` before returning, so a port in use fails here, then
    /// starts one thread per socket.
    package func start(address: SocketAddress, threads: Int) throws(SystemCallError) {
        var sockets: [CInt] = []
        for _ in 0..<max(1, threads) {
            let socket = try Sockets.udp(bind: address, reusePort: true, receiveTimeoutMilliseconds: 200)
            sockets.append(socket.take())
        }
        for (number, socket) in sockets.enumerated() {
            let handle = Threads.start(name: "beacon-udp-\(number)") { [self] in
                serve(socket)
                Posix.close(socket)
            }
            handles.withLock { $0.append(handle) }
        }
    }

    /// Stops the threads (within one receive timeout) and closes their sockets.
    package func stop() {
        stopping.store(true, ordering: .releasing)
        let threads = handles.withLock { handles -> [ThreadHandle] in
            let taken = handles
            handles.removeAll()
            return taken
        }
        for thread in threads { thread.join() }
    }

    private func serve(_ socket: CInt) {
        // Room for the largest reply `--udp-max-payload` allows, and for a query as large as the
        // size our OPT advertises.
        let datagramSize = max(4096, engine.responder.udpMaxPayload)
        let batch = UDPBatch(receiveSize: datagramSize, sendSize: datagramSize)
        let worker = engine.makeWorker()
        let advertisedPayload = UInt16(clamping: engine.responder.udpMaxPayload)
        while !stopping.load(ordering: .relaxed) {
            guard let count = try? batch.receive(on: socket), count > 0 else { continue }
            let now = DNSEngine.now()
            let second = UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000_000)
            for index in 0..<count {
                guard let query = batch.datagram(index) else {
                    engine.counters.dropped.add(1, ordering: .relaxed)
                    continue
                }
                engine.counters.udpQueries.add(1, ordering: .relaxed)
                // Decided before any lookup, so a limited source costs no rendering: a drop costs
                // nothing more, a slip is the query's header and question sent back with TC.
                if let limiter, let sender = batch.sender(index) {
                    switch limiter.decide(prefix: ResponseRateLimiter.prefix(of: sender), second: second) {
                    case .allow:
                        break
                    case .drop:
                        engine.counters.rateLimited.add(1, ordering: .relaxed)
                        continue
                    case .slip:
                        engine.counters.rateLimited.add(1, ordering: .relaxed)
                        let length = ResponseRateLimiter.writeSlip(
                            query: query, advertisedPayload: advertisedPayload, into: batch.nextReplyBuffer)
                        if length > 0 { batch.commitReply(to: index, length: length) }
                        continue
                    }
                }
                var length = worker.answerFast(query, transport: .udp, now: now, into: batch.nextReplyBuffer)
                if length == 0 {
                    switch worker.answer(query, transport: .udp, now: now) {
                    case .send:
                        length = worker.writer.bytes.withUnsafeBytes { bytes in
                            let count = min(bytes.count, batch.nextReplyBuffer.count)
                            batch.nextReplyBuffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                            return count
                        }
                    case .drop:
                        continue
                    case .forward:
                        if let forward, let sender = batch.sender(index) {
                            forward(Array(query), sender, socket)
                        }
                        continue
                    }
                }
                batch.commitReply(to: index, length: length)
            }
            batch.sendPending(on: socket)
        }
    }
}
