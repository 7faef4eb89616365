import Primitives
import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// The responders answering now. A reload (SIGHUP) builds new ones off the packet path and swaps
/// them in here; every DNS thread picks them up before its next query, with one relaxed atomic load
/// per query and no lock on the packet path.
package final class AnswerSource: Sendable {
    package final class Answerers: Sendable {
        package let responder: Responder
        /// The allocation-free path for common queries; nil to answer everything with `responder`.
        package let fast: FastResponder?

        package init(responder: Responder, fast: FastResponder?) {
            self.responder = responder
            self.fast = fast
        }
    }

    private let current: Locked<Answerers>
    private let generationCounter = Atomic<UInt64>(0)

    package init(responder: Responder, fast: FastResponder? = nil) {
        current = Locked(Answerers(responder: responder, fast: fast))
    }

    /// Rises with every swap.
    package var generation: UInt64 { generationCounter.load(ordering: .acquiring) }

    package var answerers: Answerers { current.withLock { $0 } }

    /// Puts `responder` and `fast` in place for every query from now on.
    package func replace(responder: Responder, fast: FastResponder?) {
        current.withLock { $0 = Answerers(responder: responder, fast: fast) }
        generationCounter.add(1, ordering: .releasing)
    }
}

/// What the transports call to answer: the answerers, the table and one listener's counters,
/// shared by that listener's threads.
package final class DNSEngine: Sendable {
    package let source: AnswerSource
    package let registry: Registry
    package let counters: DNSCounters

    package init(source: AnswerSource, registry: Registry, counters: DNSCounters = DNSCounters()) {
        self.source = source
        self.registry = registry
        self.counters = counters
    }

    package convenience init(
        responder: Responder, fast: FastResponder? = nil, registry: Registry, counters: DNSCounters = DNSCounters()
    ) {
        self.init(source: AnswerSource(responder: responder, fast: fast), registry: registry, counters: counters)
    }

    /// The responder answering now.
    package var responder: Responder { source.answerers.responder }

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
    /// The answerers this thread uses, and the swap they came from.
    private var answerers: AnswerSource.Answerers
    private var generation: UInt64

    init(engine: DNSEngine) {
        self.engine = engine
        generation = engine.source.generation
        answerers = engine.source.answerers
        scratch = QueryScratch(udpMaxPayload: answerers.responder.udpMaxPayload)
    }

    /// Picks up answerers a reload swapped in since this thread last looked.
    @inline(__always)
    private func refreshIfReloaded() {
        let current = engine.source.generation
        guard current != generation else { return }
        generation = current
        answerers = engine.source.answerers
    }

    /// Answers `query` straight into `output` on the fast path.
    /// - Returns: the response length, or 0 when `answer(_:transport:now:)` must handle it.
    package func answerFast(
        _ query: UnsafeRawBufferPointer, transport: Responder.Transport, now: Instant,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int {
        refreshIfReloaded()
        guard let fast = answerers.fast, scratch.scan(query) else { return 0 }
        rotation &+= 1
        let limit = transport == .tcp ? 0xFFFF : scratch.udpPayload
        let length = fast.respond(
            query: query, scratch: scratch, leases: engine.registry, now: now, rotation: rotation, limit: limit,
            transport: transport, output: output)
        if length > 0 {
            if output[2] & 0x02 != 0 { engine.counters.truncated.add(1, ordering: .relaxed) }
            engine.counters.count(type: scratch.type.rawValue, rcode: output[3] & 0x0F)
            engine.counters.countResponse(transport: transport, rcode: output[3] & 0x0F, size: length)
        }
        return length
    }

    /// Answers `query` into `writer` (reset first).
    package func answer(_ query: UnsafeRawBufferPointer, transport: Responder.Transport, now: Instant)
        -> Responder.Outcome
    {
        refreshIfReloaded()
        writer.reset()
        rotation &+= 1
        let outcome = answerers.responder.respond(
            to: query, transport: transport, leases: engine.registry, now: now, rotation: rotation, into: &writer)
        switch outcome {
        case .send:
            count(query: query, response: writer.bytes, transport: transport)
        case .drop:
            engine.counters.dropped.add(1, ordering: .relaxed)
        case .forward:
            engine.counters.forwarded.add(1, ordering: .relaxed)
        }
        return outcome
    }

    private func count(query: UnsafeRawBufferPointer, response: [UInt8], transport: Responder.Transport) {
        guard response.count >= 12 else { return }
        if response[2] & 0x02 != 0 { engine.counters.truncated.add(1, ordering: .relaxed) }
        engine.counters.count(type: Question.type(in: query) ?? 0, rcode: response[3] & 0x0F)
        engine.counters.countResponse(transport: transport, rcode: response[3] & 0x0F, size: response.count)
    }
}
