import Authority
import DNSServer
import DNSWire
import Leases
import Primitives
import Testing
import TestSupport
import ZoneFile

/// `DNSEngine` and its workers without sockets: a reload's swap reaches a worker before its next
/// query, and answers are counted by transport, RCODE and size.
@Suite struct DNSEngineTests {
    static func answers(zone text: String) throws -> (Responder, FastResponder) {
        let data = try ZoneFileParser.parse(
            Array(text.utf8), fileName: "local.zone", defaultOrigin: try DomainName("local."), loadInclude: { _ in [] })
        let resolver = Resolver(zones: ZoneSet([Zone(data: data)]), dynamic: DynamicNames(apex: try DomainName("local."), maxTTL: 30))
        return (Responder(resolver: resolver), FastResponder(resolver: resolver))
    }

    static func zone(_ address: String) -> String {
        "$ORIGIN local.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\nwww A \(address)\n"
    }

    func answer(_ worker: DNSWorker, _ name: String, transport: Responder.Transport) throws -> Message {
        let query = DNSQuery(name, .a).bytes
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { output.deallocate() }
        let now = DNSEngine.now()
        let length = query.withUnsafeBytes { worker.answerFast($0, transport: transport, now: now, into: output) }
        if length > 0 { return try Message.decode(Array(output[0..<length])) }
        _ = query.withUnsafeBytes { worker.answer($0, transport: transport, now: now) }
        return try Message.decode(worker.writer.bytes)
    }

    @Test func aSwappedResponderReachesAWorkerBeforeItsNextQuery() throws {
        let (responder, fast) = try Self.answers(zone: Self.zone("192.0.2.1"))
        let source = AnswerSource(responder: responder, fast: fast)
        let engine = DNSEngine(source: source, registry: Registry())
        let worker = engine.makeWorker()
        #expect(try answer(worker, "www.local.", transport: .udp).answers.first?.rdata.presentation == "192.0.2.1")
        let (newResponder, newFast) = try Self.answers(zone: Self.zone("192.0.2.2"))
        source.replace(responder: newResponder, fast: newFast)
        #expect(try answer(worker, "www.local.", transport: .udp).answers.first?.rdata.presentation == "192.0.2.2")
        #expect(try answer(worker, "www.local.", transport: .tcp).answers.first?.rdata.presentation == "192.0.2.2")
    }

    @Test func answersAreCountedByTransportRCodeAndSize() throws {
        let (responder, fast) = try Self.answers(zone: Self.zone("192.0.2.1"))
        let counters = DNSCounters()
        let engine = DNSEngine(responder: responder, fast: fast, registry: Registry(), counters: counters)
        let worker = engine.makeWorker()
        _ = try answer(worker, "www.local.", transport: .udp)
        _ = try answer(worker, "missing.local.", transport: .udp)
        _ = try answer(worker, "www.local.", transport: .tcp)
        let rows = counters.responsesByTransportAndRCode.map { "\($0.0) \($0.1) \($0.2)" }
        #expect(rows == ["udp NOERROR 1", "udp NXDOMAIN 1", "tcp NOERROR 1"])
        #expect(counters.udpResponseSizes.count == 2 && counters.tcpResponseSizes.count == 1)
        #expect(counters.udpResponseSizes.sum > 24)
    }
}
