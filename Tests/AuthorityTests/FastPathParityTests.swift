import Authority
import CAllocationCounter
import DNSWire
import Leases
import Testing
import ZoneFile

/// The fast path must give the same answers as the reference `Responder` wherever it answers.
@Suite("Fast path parity with the reference responder")
struct FastPathParityTests {
    static let zoneText = """
        $ORIGIN local.
        $TTL 60
        @ SOA ns hostmaster 1 3600 600 86400 5
        @ NS ns
        ns A 127.0.0.1
        www A 192.0.2.1
        www AAAA 2001:db8::1
        mail MX 10 www
        alias CNAME www
        txt TXT "a b" "c"
        srv._tcp SRV 0 1 25 www
        """

    let now = Instant(nanoseconds: 1_000_000_000_000)
    let registry: Registry
    let resolver: Resolver

    init() throws {
        let data = try ZoneFileParser.parse(
            Array(Self.zoneText.utf8), fileName: "local.zone", defaultOrigin: try DomainName("local."),
            loadInclude: { _ in [] })
        resolver = Resolver(
            zones: ZoneSet([Zone(data: data)]), dynamic: DynamicNames(apex: try DomainName("local."), maxTTL: 30))
        registry = Registry()
        let specs: [RegistrationRequest] = [
            RegistrationRequest(service: "orders", function: "create", id: "a1", address: "10.0.0.1", port: 80, ttl: 20),
            RegistrationRequest(service: "orders", function: "create", id: "a2", address: "10.0.0.2", port: 81, ttl: 40,
                priority: 5, weight: 7, meta: [("version", "1.2"), ("zone", "eu")]),
            RegistrationRequest(service: "orders", function: "create", id: "a3", address: "10.0.0.2", port: 82, ttl: 9),
            RegistrationRequest(service: "orders", function: "create", id: "v6", address: "2001:db8::7", port: 83),
            RegistrationRequest(service: "orders", function: "list", id: "b1", address: "10.1.0.1", port: 80, ttl: 3),
            RegistrationRequest(service: "pay", function: "charge", id: "gone", address: "10.2.0.1", port: 80, ttl: 1),
            RegistrationRequest(service: "pay", function: "refund", id: "d1", address: "10.3.0.1", port: 80, ttl: 30,
                meta: [("k", "v")]),
            RegistrationRequest(service: "ship", function: "send", id: "d2", address: "10.4.0.1", port: 80, ttl: 30),
            RegistrationRequest(service: "ship", function: "send", id: "s1", address: "10.4.0.2", port: 80, ttl: 30),
        ]
        for request in specs { _ = try registry.register(try request.validated(), now: now) }
        // Deregistered with answers out: their own names answer through the drain.
        for id in ["d1", "d2"] {
            registry.instance(id: id, now: now)!.noteExposure(until: now.adding(seconds: 10))
            _ = registry.deregister(id: id, now: now)
        }
    }

    static let names = [
        "create.orders.local.", "CrEaTe.OrDeRs.LoCaL.", "_create._tcp.orders.local.", "_create._udp.orders.local.",
        "a1.create.orders.local.", "a2.create.orders.local.", "v6.create.orders.local.", "zz.create.orders.local.",
        "list.orders.local.", "missing.orders.local.", "charge.pay.local.", "gone.charge.pay.local.",
        "orders.local.", "_tcp.orders.local.", "local.", "ns.local.", "www.local.", "mail.local.", "alias.local.",
        "txt.local.", "srv._tcp.local.", "nothing.local.", "deep.a1.create.orders.local.", "example.com.",
        "refund.pay.local.", "d1.refund.pay.local.", "_refund._tcp.pay.local.", "pay.local.", "send.ship.local.",
        "d2.send.ship.local.", "s1.send.ship.local.", "_send._tcp.ship.local.",
    ]
    static let types: [RRType] = [.a, .aaaa, .srv, .txt, .mx, .ns, .soa, .cname]

    /// At the default `--udp-max-payload` and a raised one (the OPT advertises it on both paths).
    @Test(arguments: [1232, 4096])
    func everyFastAnswerEqualsTheReferenceAnswer(udpMaxPayload: Int) throws {
        let fast = FastResponder(resolver: resolver, udpMaxPayload: udpMaxPayload)
        let reference = Responder(resolver: resolver, udpMaxPayload: udpMaxPayload)
        let scratch = QueryScratch(udpMaxPayload: udpMaxPayload)
        let later = now.adding(milliseconds: 1_500)  // "gone" (ttl 1) has expired
        var fastAnswered = 0
        for name in Self.names {
            for type in Self.types {
                for (edns, checkingDisabled) in [(false, false), (true, false), (true, true)] {
                    let query = try Self.query(name, type, edns: edns, checkingDisabled: checkingDisabled)
                    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
                    defer { output.deallocate() }
                    let length = query.withUnsafeBytes { bytes -> Int in
                        guard scratch.scan(bytes) else { return 0 }
                        return fast.respond(
                            query: bytes, scratch: scratch, leases: registry, now: later, rotation: 3,
                            limit: scratch.udpPayload, output: output)
                    }
                    guard length > 0 else { continue }
                    fastAnswered += 1
                    var writer = WireWriter()
                    let outcome = query.withUnsafeBytes {
                        reference.respond(to: $0, transport: .udp, leases: registry, now: later, into: &writer)
                    }
                    #expect(outcome == .send)
                    let fastMessage = try Message.decode(Array(output[0..<length]))
                    let referenceMessage = try Message.decode(writer.bytes)
                    #expect(
                        Self.normalized(fastMessage) == Self.normalized(referenceMessage),
                        "\(name) \(type) edns=\(edns) cd=\(checkingDisabled)")
                    #expect(!fastMessage.header.checkingDisabled, "CD is not copied")
                    // The question is echoed byte for byte, case included.
                    #expect(Array(output[12..<(12 + name.utf8.count + 1)]) == Array(query[12..<(12 + name.utf8.count + 1)]))
                }
            }
        }
        // Most of the table must actually go through the fast path, or this test proves little.
        #expect(fastAnswered > 150, "only \(fastAnswered) queries took the fast path")
    }

    @Test func theFastPathDeclinesWhatItDoesNotHandle() throws {
        let fast = FastResponder(resolver: resolver)
        let scratch = QueryScratch()
        // Zone transfers and OPT as a question type are refused or FORMERR before any lookup.
        for (name, type) in [("create.orders.local.", RRType.any), ("alias.local.", .a), ("orders.local.", .a),
            ("example.com.", .a), ("create.orders.local.", .ixfr), ("nothing.orders.local.", .ixfr),
            ("www.local.", .axfr), ("local.", .axfr), ("a1.create.orders.local.", .opt)]
        {
            let query = try Self.query(name, type, edns: false)
            let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
            defer { output.deallocate() }
            let length = query.withUnsafeBytes { bytes -> Int in
                guard scratch.scan(bytes) else { return 0 }
                return fast.respond(
                    query: bytes, scratch: scratch, leases: registry, now: now, rotation: 0, limit: 512, output: output)
            }
            #expect(length == 0, "\(name) \(type)")
        }
    }

    static func query(_ name: String, _ type: RRType, edns: Bool, checkingDisabled: Bool = false) throws -> [UInt8] {
        var message = Message(header: Header(id: 0x1234, flags: checkingDisabled ? 0x0110 : 0x0100))
        message.questions = [Question(name: try DomainName(name), type: type)]
        if edns { message.additionals = [EDNS(udpPayloadSize: 4096, flags: 0x8000).record] }
        return try message.encode()
    }

    /// Sections with records in a fixed order (rotation may order them differently) and names lower-cased.
    /// The class is kept: an OPT's holds the payload size it advertises.
    static func normalized(_ message: Message) -> [String] {
        func lines(_ records: [ResourceRecord]) -> [String] {
            records.map {
                "\($0.name.lowercased()) \($0.ttl) \($0.rrClass.rawValue) \($0.type) \($0.rdata.presentation.lowercased())"
            }.sorted()
        }
        return ["flags \(message.header.flags) rcode \(message.rcode)"] + ["-- answer"] + lines(message.answers)
            + ["-- authority"] + lines(message.authorities) + ["-- additional"] + lines(message.additionals)
    }
}

#if DEBUG
    let optimizedBuild = false
#else
    let optimizedBuild = true
#endif

@Suite("Fast path allocations")
struct FastPathAllocationTests {
    /// STYLE 3.4 #11: once warm, answering a query allocates nothing. Only an optimized build can
    /// promise that (debug code boxes generics), so `.ci/run` runs this suite with `-c release`.
    @Test(
        .enabled(if: optimizedBuild, "allocation-free only in optimized builds: swift test -c release"),
        .enabled(if: beacon_allocation_counter_available() == 1, "sanitizer builds bring their own allocator"))
    func answeringAllocatesNothingOnceWarm() throws {
        let parity = try FastPathParityTests()
        // A function of 3,000 instances too (issue 14 item 5): answered from its rendering, over UDP
        // (a TC reply) and over TCP (64 KiB of records), with nothing allocated per query.
        for index in 0..<3_000 {
            let request = RegistrationRequest(
                service: "orders", function: "big", id: "instance-\(index)", address: "10.7.\(index / 250).\(index % 250)",
                port: 80, ttl: 600)
            _ = try parity.registry.register(try request.validated(), now: parity.now)
        }
        let fast = FastResponder(resolver: parity.resolver)
        let scratch = QueryScratch()
        let udp = try [
            ("create.orders.local.", RRType.srv), ("create.orders.local.", .a), ("a2.create.orders.local.", .txt),
            ("_create._tcp.orders.local.", .srv), ("www.local.", .a), ("missing.orders.local.", .a),
            ("v6.create.orders.local.", .aaaa), ("big.orders.local.", .srv), ("big.orders.local.", .a),
            ("instance-2999.big.orders.local.", .a),
        ].map { (try FastPathParityTests.query($0.0, $0.1, edns: true), Responder.Transport.udp) }
        let tcp = try [("big.orders.local.", RRType.srv), ("_big._tcp.orders.local.", .srv), ("big.orders.local.", .a)]
            .map { (try FastPathParityTests.query($0.0, $0.1, edns: false), Responder.Transport.tcp) }
        let queries = udp + tcp
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_535, alignment: 8)
        defer { output.deallocate() }
        func run(_ rounds: Int) -> Int {
            var answered = 0
            for round in 0..<rounds {
                for (query, transport) in queries {
                    answered += query.withUnsafeBytes { bytes -> Int in
                        guard scratch.scan(bytes) else { return 0 }
                        return fast.respond(
                            query: bytes, scratch: scratch, leases: parity.registry, now: parity.now, rotation: round,
                            limit: transport == .tcp ? 0xFFFF : 1232, transport: transport, output: output) > 0 ? 1 : 0
                    }
                }
            }
            return answered
        }
        #expect(run(10) == queries.count * 10)
        beacon_allocation_counter_start()
        let answered = run(300)
        let allocations = beacon_allocation_counter_stop()
        #expect(answered == queries.count * 300)
        #expect(allocations == 0, "\(allocations) allocations for \(answered) answers")
    }

    @Test(.enabled(if: beacon_allocation_counter_available() == 1, "sanitizer builds bring their own allocator"))
    func theCounterSeesAnAllocation() {
        beacon_allocation_counter_start()
        let array = [Int](repeating: 7, count: Int.random(in: 100...200))
        let allocations = beacon_allocation_counter_stop()
        #expect(array.count >= 100)
        #expect(allocations >= 1)
    }
}
