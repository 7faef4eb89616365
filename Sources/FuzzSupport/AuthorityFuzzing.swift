import Primitives
import Authority
import DNSWire
import Leases
import ZoneFile
/// What the answer path is fuzzed against: responders over a zone, a table, and a moment.
package struct ResponderFixture: Sendable {
    let responder: Responder
    let fast: FastResponder
    let registry: Registry
    let now: Instant
}

/// A table with functions of several sizes (3, 40 and 64 instances, IPv4 and IPv6, with meta and
/// some leases ended at `now`), and a draining instance, registered in `zone`.
private func fuzzFixture(zone text: String) -> ResponderFixture {
    let data = try! ZoneFileParser.parse(
        Array(text.utf8), fileName: "fuzz", defaultOrigin: try! DomainName("local."), loadInclude: { _ in [] })
    let resolver = Resolver(zones: ZoneSet([Zone(data: data)]), dynamic: DynamicNames(apex: try! DomainName("local."), maxTTL: 30))
    let registry = Registry()
    let now = Instant(nanoseconds: 1_000_000_000_000)
    for (index, (function, size)) in [("create", 3), ("list", 40), ("big", 64)].enumerated() {
        for instance in 0..<size {
            let request = RegistrationRequest(
                service: "orders", function: function, id: "\(function)\(instance)",
                address: instance % 2 == 0 ? "10.0.\(index).\(instance)" : "2001:db8::\(instance + 1)", port: 80,
                ttl: Int64(1 + instance), meta: [("k", "v\(instance)")])
            _ = try! registry.register(try! request.validated(), now: now.adding(seconds: -1))
        }
    }
    let draining = RegistrationRequest(service: "pay", function: "refund", id: "d1", address: "10.9.0.1", port: 80)
    _ = try! registry.register(try! draining.validated(), now: now)
    registry.instance(id: "d1", now: now)!.noteExposure(until: now.adding(seconds: 10))
    _ = registry.deregister(id: "d1", now: now)
    return ResponderFixture(responder: Responder(resolver: resolver), fast: FastResponder(resolver: resolver), registry: registry, now: now)
}

/// Two zones: one with a wildcard and a delegation, where the fast path must decline registration
/// names (their existence is no longer the table's alone), and a plain one, where it renders them,
/// so the fuzzer holds that rendering to the reference path too.
private let fuzzFixtures: [ResponderFixture] = [
    fuzzFixture(
        zone: """
            $ORIGIN local.
            $TTL 60
            @ SOA ns hostmaster 1 3600 600 86400 5
            @ NS ns
            ns A 127.0.0.1
            www A 192.0.2.1
            alias CNAME www
            *.wild TXT "w"
            sub NS ns.sub
            ns.sub A 192.0.2.53
            """),
    fuzzFixture(
        zone: """
            $ORIGIN local.
            $TTL 60
            @ SOA ns hostmaster 1 3600 600 86400 5
            @ NS ns
            ns A 127.0.0.1
            www A 192.0.2.1
            alias CNAME www
            """),
]

/// Fuzz entry point for the whole answer path: any bytes through the reference responder (UDP and
/// TCP) and the fast path must not trap; a response must decode; and where the fast path answers,
/// its answer must equal the reference's in everything but record order.
package func fuzzResponder(_ bytes: [UInt8]) { _ = fuzzResponderFastAnswers(bytes) }

/// `fuzzResponder`, telling for each fixture (the wildcard zone, the plain zone) whether the fast
/// path answered: tests check that the plain zone's registration names reach it.
package func fuzzResponderFastAnswers(_ bytes: [UInt8]) -> [Bool] {
    fuzzFixtures.map { fuzzResponder(bytes, $0) }
}

/// One input against one fixture. Returns whether the fast path answered.
private func fuzzResponder(_ bytes: [UInt8], _ fixture: ResponderFixture) -> Bool {
    let (responder, fast, registry, now) = (fixture.responder, fixture.fast, fixture.registry, fixture.now)
    var writer = WireWriter(capacity: 4096)
    var reference: [UInt8]? = nil
    for transport in [Responder.Transport.udp, .tcp] {
        writer.reset()
        let outcome = bytes.withUnsafeBytes {
            responder.respond(to: $0, transport: transport, leases: registry, now: now, into: &writer)
        }
        guard outcome == .send else { continue }
        precondition((try? Message.decode(writer.bytes)) != nil, "the responder wrote an undecodable message")
        if transport == .udp {
            precondition(writer.bytes.count <= 1232, "a UDP response larger than any limit")
            reference = writer.bytes
        }
    }
    let scratch = QueryScratch()
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_535, alignment: 8)
    defer { output.deallocate() }
    let length = bytes.withUnsafeBytes { raw -> Int in
        guard scratch.scan(raw) else { return 0 }
        return fast.respond(
            query: raw, scratch: scratch, leases: registry, now: now, rotation: 0, limit: scratch.udpPayload,
            output: output)
    }
    guard length > 0 else { return false }
    guard let fastMessage = try? Message.decode(Array(output[0..<length])) else {
        preconditionFailure("the fast path wrote an undecodable message")
    }
    guard let reference, let referenceMessage = try? Message.decode(reference) else {
        preconditionFailure("the fast path answered a query the reference responder did not")
    }
    precondition(fuzzNormalized(fastMessage) == fuzzNormalized(referenceMessage), "fast and reference answers differ")
    return true
}

/// Names compare without case, in RDATA too: a name compressed against the question takes the
/// question's case (`ns.Local.` for a query of `Big.orders.Local`), and either path may compress.
private func fuzzNormalized(_ message: Message) -> [String] {
    func lines(_ records: [ResourceRecord]) -> [String] { records.map { "\($0)".lowercased() }.sorted() }
    return ["\(message.header.flags) \(message.rcode)"] + lines(message.answers) + ["|"] + lines(message.authorities)
        + ["|"] + lines(message.additionals)
}
