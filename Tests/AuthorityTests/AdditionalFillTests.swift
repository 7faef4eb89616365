import Authority
import DNSWire
import Leases
import Testing
import ZoneFile

/// A large SRV answer under EDNS 1232 carries as much glue as fits, as Knot's does: every glue owner
/// is a pointer to its SRV target, and a glue set that does not fit is skipped while smaller ones
/// after it still go in (RFC 2181 §9: no TC for additional data). Before the fix Beacon's compression
/// table filled up after seven targets and it stopped at the first set that did not fit, so it
/// carried fewer records than Knot (1 where Knot fits 2 at 25 instances, 11 where Knot fits 16 at 20).
@Suite struct AdditionalFillTests {
    static let zoneText = """
        $ORIGIN local.
        $TTL 60
        @ SOA ns.local. hostmaster.local. 1 3600 600 86400 5
        @ NS ns.local.
        ns A 127.0.0.1
        """
    let now = Instant(nanoseconds: 1_000_000_000_000)
    let resolver: Resolver

    init() throws {
        let data = try ZoneFileParser.parse(
            Array(Self.zoneText.utf8), fileName: "local.zone", defaultOrigin: try DomainName("local."),
            loadInclude: { _ in [] })
        resolver = Resolver(
            zones: ZoneSet([Zone(data: data)]), dynamic: DynamicNames(apex: try DomainName("local."), maxTTL: 30))
    }

    /// `web-1` ... `web-N` under create.orders.local., port 8080, in that order; those in `ipv6` get
    /// an AAAA, the others an A (the layout Knot served from a zone file). Leases of 300 s, but 5 s
    /// for `shortLease`.
    func registry(_ count: Int, ipv6: Set<Int> = [], shortLease: Int? = nil) throws -> Registry {
        let registry = Registry()
        for index in 1...count {
            let request = RegistrationRequest(
                service: "orders", function: "create", id: "web-\(index)",
                address: ipv6.contains(index) ? "2001:db8::\(index)" : "10.0.0.\(index)", port: 8080,
                ttl: index == shortLease ? 5 : 300)
            _ = try registry.register(try request.validated(), now: now)
        }
        return registry
    }

    /// The reference and the fast responses to `create.orders.local. SRV` with EDNS 1232.
    func responses(_ registry: Registry, rotation: Int = 0) throws -> (reference: [UInt8], fast: [UInt8]) {
        let query = try Message(
            header: Header(id: 0x5151, flags: 0x0100),
            questions: [Question(name: try DomainName("create.orders.local."), type: .srv)],
            additionals: [EDNS(udpPayloadSize: 1232).record]
        ).encode()
        var writer = WireWriter()
        let outcome = query.withUnsafeBytes {
            Responder(resolver: resolver).respond(
                to: $0, transport: .udp, leases: registry, now: now, rotation: rotation, into: &writer)
        }
        #expect(outcome == .send)
        let scratch = QueryScratch()
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { output.deallocate() }
        let length = query.withUnsafeBytes { bytes -> Int in
            guard scratch.scan(bytes) else { return 0 }
            return FastResponder(resolver: resolver).respond(
                query: bytes, scratch: scratch, leases: registry, now: now, rotation: rotation,
                limit: scratch.udpPayload, output: output)
        }
        return (writer.bytes, Array(output[0..<length]))
    }

    static func glueOwners(_ bytes: [UInt8]) throws -> [String] {
        try Message.decode(bytes).additionals.filter { $0.type != .opt }.map { firstLabel($0.name) }
    }

    /// The SRV targets in answer order (the order the client reads them).
    static func targets(_ bytes: [UInt8]) throws -> [String] {
        try Message.decode(bytes).answers.map { record -> String in
            guard case .srv(let srv) = record.rdata else { return "" }
            return firstLabel(srv.target)
        }
    }

    static func firstLabel(_ name: DomainName) -> String { String(name.description.prefix { $0 != "." }) }

    /// Knot 3.2.6 serving the same names from a zone file: (instances, Knot's glue records, Beacon's,
    /// Beacon's reply bytes). Equal sizes, except that at 20 Beacon fits one more: Knot keeps
    /// compression hints for 16 records of an RRset, so its 16th glue owner is half written out.
    @Test(arguments: [
        (20, 16, 17, 1231), (21, 14, 14, 1229), (22, 11, 11, 1227), (23, 8, 8, 1225), (24, 5, 5, 1223),
        (25, 2, 2, 1221),
    ])
    func aLargeSRVAnswerCarriesAtLeastAsMuchGlueAsKnotsOnBothPaths(
        instances: Int, knotGlue: Int, glue: Int, size: Int
    ) throws {
        let (reference, fast) = try responses(try registry(instances))
        let message = try Message.decode(reference)
        #expect(!message.header.truncated)
        #expect(message.answers.count == instances)
        #expect(try Self.glueOwners(reference) == Array(try Self.targets(reference).prefix(glue)), "the first targets' glue")
        #expect(glue >= knotGlue)
        #expect(reference.count == size)
        #expect(fast == reference, "the fast path gives the same bytes")
    }

    /// As Knot does: when the 14th target's glue is an AAAA that no longer fits, the 15th target's A
    /// still goes in; when the 13th's AAAA fits, nothing after it does. (Instances are answered in
    /// order of their ids, so the 13th and 14th targets are web-20 and web-21.)
    @Test(arguments: [("web-21", 13, 1229), ("web-20", 13, 1225)])
    func aGlueSetThatDoesNotFitIsSkippedAndLaterOnesStillGoIn(ipv6: String, first: Int, size: Int) throws {
        let index = Int(ipv6.dropFirst(4))!
        let (reference, fast) = try responses(try registry(21, ipv6: [index]))
        let targets = try Self.targets(reference)
        let position = try #require(targets.firstIndex(of: ipv6))
        let expected = ipv6 == "web-21" ? Array(targets.prefix(first)) + [targets[position + 1]] : Array(targets.prefix(first))
        #expect(try Self.glueOwners(reference) == expected)
        #expect(reference.count == size)
        #expect(fast == reference, "the fast path gives the same bytes")
    }

    /// With the answer rotated, the glue that goes in is that of the SRV records the client reads
    /// first, on both paths.
    @Test func rotatedAnswersCarryTheGlueOfTheirFirstRecords() throws {
        let (reference, fast) = try responses(try registry(24), rotation: 5)
        let targets = try Self.targets(reference)
        #expect(targets.first != "web-1", "rotated")
        #expect(try Self.glueOwners(reference) == Array(targets.prefix(5)))
        #expect(fast == reference)
    }

    /// The SRV set's TTL comes from web-1's 5 s lease (4 s); each other instance's own address record
    /// (TTL 30) exposes it for longer, but only if it went out.
    @Test func onlyTheGlueThatWentOutIsExposed() throws {
        let registry = try registry(21, ipv6: [21], shortLease: 1)
        let (reference, _) = try responses(registry)
        let sent = Set(try Self.glueOwners(reference))
        #expect(sent.count == 14 && !sent.contains("web-21") && sent.contains("web-3"))
        let instances = try #require(registry.entry(FunctionKey(service: "orders", function: "create"))?.instances)
        for instance in instances where instance.spec.id != "web-1" {
            let expected = sent.contains(instance.spec.id) ? 30 + 1 : 4 + 1
            #expect(instance.exposedUntil == now.adding(seconds: Int64(expected)), "\(instance.spec.id)")
        }
    }
}
