import DNSWire
import Leases

/// Turns query bytes into response bytes: policy, lookup, encoding. Pure apart from recording, on
/// each instance an answer held, until when that answer may be cached (the deregistration `drain`).
package struct Responder: Sendable {
    package enum Transport: Sendable {
        case udp
        case tcp
    }

    package enum Outcome: Equatable {
        /// The response is in the writer.
        case send
        /// Send nothing.
        case drop
        /// The name is outside every served zone and forwarding is on: the caller forwards it.
        case forward
    }

    package let resolver: Resolver
    /// Whether names outside the served zones go to upstream servers instead of REFUSED.
    package let forwarding: Bool
    /// `--udp-max-payload`: the largest UDP reply, and the payload size our OPT advertises.
    package let udpMaxPayload: Int

    package init(resolver: Resolver, forwarding: Bool = false, udpMaxPayload: Int = Int(EDNS.defaultUDPMaxPayload)) {
        self.resolver = resolver
        self.forwarding = forwarding
        self.udpMaxPayload = udpMaxPayload
    }

    package func respond(
        to query: UnsafeRawBufferPointer, transport: Transport, leases: some LeaseLookup, now: Instant,
        rotation: Int = 0, into writer: inout WireWriter
    ) -> Outcome {
        switch ResponsePolicy.decide(query) {
        case .drop:
            return .drop
        case .error(let rcode, let header, let question, _, let edns):
            _ = ResponseWriter.write(
                query: header, question: question, clientEDNS: edns, rcode: rcode, authoritative: false,
                limit: limit(transport, edns), advertisedPayload: advertisedPayload, into: &writer)
            return .send
        case .badKey(let parsed, let tsig):
            _ = ResponseWriter.write(
                query: parsed.header, question: parsed.question, clientEDNS: parsed.edns, rcode: .notAuth,
                authoritative: false, limit: limit(transport, parsed.edns), advertisedPayload: advertisedPayload,
                tsig: tsig.unsignedError(TSIG.badKey, responseID: parsed.header.id), into: &writer)
            return .send
        case .query(let parsed):
            let resolution = resolver.resolve(
                parsed.question, leases: leases, now: now, rotation: rotation, minimalANY: transport == .udp)
            if resolution.outcome == .refused, forwarding { return .forward }
            let written = ResponseWriter.write(
                query: parsed.header, question: parsed.question, clientEDNS: parsed.edns, rcode: resolution.rcode,
                authoritative: resolution.authoritative, answers: resolution.answers,
                authorities: resolution.authorities, additionals: resolution.additionals,
                limit: limit(transport, parsed.edns), advertisedPayload: advertisedPayload,
                partialAnswers: transport == .tcp, into: &writer)
            if written.partialAnswer {
                // Every instance of the sets begun, whether or not its record fit: a drain too long
                // by a little for some is safe, one too short is not.
                Self.noteExposure(resolution.answers, now: now)
            } else if !written.truncated {
                Self.noteExposure(resolution.answers, now: now)
                Self.noteExposure(resolution.authorities, now: now)
                Self.noteExposure(written.additionalsIncluded.lazy.map { resolution.additionals[$0] }, now: now)
            }
            return .send
        }
    }

    private func limit(_ transport: Transport, _ edns: EDNS?) -> Int {
        transport == .tcp ? 0xFFFF : ResponsePolicy.udpLimit(for: edns, maximum: udpMaxPayload)
    }

    private var advertisedPayload: UInt16 { UInt16(clamping: udpMaxPayload) }

    private static func noteExposure(_ sets: some Sequence<AnswerRRSet>, now: Instant) {
        for set in sets where !set.instances.isEmpty {
            let until = TTLPolicy.exposure(now: now, ttl: set.ttl)
            for instance in set.instances { instance.noteExposure(until: until) }
        }
    }
}
