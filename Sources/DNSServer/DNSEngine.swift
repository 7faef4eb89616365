import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// What the transports call to answer: the responder, the table and the counters, shared by threads.
package final class DNSEngine: Sendable {
    package let responder: Responder
    /// The allocation-free path for common queries; nil to answer everything with `responder`.
    package let fast: FastResponder?
    package let registry: Registry
    package let counters: DNSCounters

    package init(responder: Responder, fast: FastResponder? = nil, registry: Registry, counters: DNSCounters = DNSCounters()) {
        self.responder = responder
        self.fast = fast
        self.registry = registry
        self.counters = counters
    }

    /// State for one thread: its buffer and rotation counter.
    package func makeWorker() -> DNSWorker { DNSWorker(engine: self) }

    @inline(__always)
    package static func now() -> Instant { Instant(nanoseconds: Posix.monotonicNanoseconds()) }
}

/// One thread's answering state. Not shareable: each UDP thread and each TCP loop owns one.
package final class DNSWorker {
    package let engine: DNSEngine
    package var writer = WireWriter(capacity: 4096)
    private var rotation = 0
    private let scratch: QueryScratch

    init(engine: DNSEngine) {
        self.engine = engine
        scratch = QueryScratch(udpMaxPayload: engine.responder.udpMaxPayload)
    }

    /// Answers `query` straight into `output` on the fast path.
    /// - Returns: the response length, or 0 when `answer(_:transport:now:)` must handle it.
    package func answerFast(
        _ query: UnsafeRawBufferPointer, transport: Responder.Transport, now: Instant,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard let fast = engine.fast, scratch.scan(query) else { return 0 }
        rotation &+= 1
        let limit = transport == .tcp ? 0xFFFF : scratch.udpPayload
        let length = fast.respond(
            query: query, scratch: scratch, leases: engine.registry, now: now, rotation: rotation, limit: limit,
            output: output)
        if length > 0 { engine.counters.count(type: scratch.type.rawValue, rcode: output[3] & 0x0F) }
        return length
    }

    /// Answers `query` into `writer` (reset first).
    package func answer(_ query: UnsafeRawBufferPointer, transport: Responder.Transport, now: Instant)
        -> Responder.Outcome
    {
        writer.reset()
        rotation &+= 1
        let outcome = engine.responder.respond(
            to: query, transport: transport, leases: engine.registry, now: now, rotation: rotation, into: &writer)
        switch outcome {
        case .send:
            count(query: query, response: writer.bytes)
        case .drop:
            engine.counters.dropped.add(1, ordering: .relaxed)
        case .forward:
            engine.counters.forwarded.add(1, ordering: .relaxed)
        }
        return outcome
    }

    private func count(query: UnsafeRawBufferPointer, response: [UInt8]) {
        guard response.count >= 12 else { return }
        if response[2] & 0x02 != 0 { engine.counters.truncated.add(1, ordering: .relaxed) }
        engine.counters.count(type: Self.questionType(query) ?? 0, rcode: response[3] & 0x0F)
    }

    /// QTYPE of the first question, read without decoding the name.
    static func questionType(_ query: UnsafeRawBufferPointer) -> UInt16? {
        var offset = 12
        while offset < query.count {
            let length = Int(query[offset])
            if length == 0 {
                guard offset + 2 < query.count else { return nil }
                return UInt16(query[offset + 1]) << 8 | UInt16(query[offset + 2])
            }
            guard length < 64 else { return nil }
            offset += 1 + length
        }
        return nil
    }
}
