import Authority
import DNSWire
import Leases
import Testing

/// Issue 14 items 5 and 6: functions of any size on the fast path, with the reference `Responder`'s
/// answers (TC over UDP without rendering, as many records as fit over TCP, glue as its bounded
/// compression writes it), and rendered answers that follow heartbeats and ended leases.
@Suite("Large functions")
struct LargeFunctionTests {
    let parity: FastPathParityTests
    var now: Instant { parity.now }

    init() throws { parity = try FastPathParityTests() }

    /// Registers `count` instances of big.orders: IPv4 with some shared addresses, every tenth IPv6,
    /// ids of several lengths, leases of 20 to 40 s.
    func registerBig(_ count: Int, function: String = "big") throws {
        for index in 0..<count {
            let address = index % 10 == 9 ? "2001:db8::\(index % 50 + 1)" : "10.\(index / 60_000).\(index / 250 % 240).\(index % 250 + 1)"
            let request = RegistrationRequest(
                service: "orders", function: function, id: "i\(index)" + String(repeating: "x", count: index % 7),
                address: index % 13 == 0 ? "10.99.0.1" : address, port: Int64(1000 + index % 5000),
                ttl: Int64(20 + index % 21), priority: Int64(index % 3), weight: Int64(index % 4))
            _ = try parity.registry.register(try request.validated(), now: now)
        }
    }

    struct Answer {
        var message: Message
        var length: Int
    }

    /// The fast path's answer (nil when it declines) and the reference's, for one query.
    func answers(
        _ name: String, _ type: RRType, transport: Responder.Transport, payload: Int?, udpMaxPayload: Int = 1232,
        rotation: Int, at time: Instant
    ) throws -> (fast: Answer?, reference: Answer) {
        var message = Message(header: Header(id: 0x4242, flags: 0x0100))
        message.questions = [Question(name: try DomainName(name), type: type)]
        if let payload { message.additionals = [EDNS(udpPayloadSize: UInt16(payload)).record] }
        let query = try message.encode()
        let fast = FastResponder(resolver: parity.resolver, udpMaxPayload: udpMaxPayload)
        let reference = Responder(resolver: parity.resolver, udpMaxPayload: udpMaxPayload)
        let scratch = QueryScratch(udpMaxPayload: udpMaxPayload)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_535, alignment: 8)
        defer { output.deallocate() }
        let length = query.withUnsafeBytes { bytes -> Int in
            guard scratch.scan(bytes) else { return 0 }
            return fast.respond(
                query: bytes, scratch: scratch, leases: parity.registry, now: time, rotation: rotation,
                limit: transport == .tcp ? 0xFFFF : scratch.udpPayload, transport: transport, output: output)
        }
        var writer = WireWriter()
        let outcome = query.withUnsafeBytes {
            reference.respond(to: $0, transport: transport, leases: parity.registry, now: time, rotation: rotation,
                into: &writer)
        }
        #expect(outcome == .send)
        let fastAnswer = length > 0 ? Answer(message: try Message.decode(Array(output[0..<length])), length: length) : nil
        return (fastAnswer, Answer(message: try Message.decode(writer.bytes), length: writer.bytes.count))
    }

    @Test(arguments: [65, 400, 3_000])
    func everyAnswerOfALargeFunctionEqualsTheReference(count: Int) throws {
        try registerBig(count)
        let later = now.adding(milliseconds: 300)
        for name in ["big.orders.local.", "_big._tcp.orders.local."] {
            for type in [RRType.srv, .a, .aaaa] {
                for (transport, payload, maximum) in [
                    (Responder.Transport.udp, nil, 1232), (.udp, 1232, 1232), (.udp, 65_535, 65_535), (.tcp, nil, 1232),
                ] as [(Responder.Transport, Int?, Int)] {
                    for rotation in [0, 7, 1_234] {
                        let (fast, reference) = try answers(
                            name, type, transport: transport, payload: payload, udpMaxPayload: maximum,
                            rotation: rotation, at: later)
                        let label = "\(count) \(name) \(type) \(transport) \(payload ?? 0) rotation \(rotation)"
                        let answered = try #require(fast, "the fast path declined: \(label)")
                        #expect(
                            FastPathParityTests.normalized(answered.message)
                                == FastPathParityTests.normalized(reference.message), "\(label)")
                        // Byte for byte as long (negative answers aside: the fast path's SOA is uncompressed).
                        if !reference.message.answers.isEmpty || reference.message.header.truncated {
                            #expect(answered.length == reference.length, "\(label)")
                        }
                    }
                }
            }
        }
    }

    /// A 3,000-instance SRV answer over UDP is a TC reply: header, question and OPT only.
    @Test func aUDPAnswerThatCannotFitIsATCReplyWithNoRecords() throws {
        try registerBig(3_000)
        let (fast, _) = try answers("big.orders.local.", .srv, transport: .udp, payload: 1232, rotation: 0, at: now)
        let answered = try #require(fast)
        #expect(answered.message.header.truncated && answered.message.header.authoritative)
        #expect(answered.message.answers.isEmpty && answered.message.additionals.map(\.type) == [.opt])
        #expect(answered.length == 12 + "big.orders.local.".utf8.count + 1 + 4 + 11)
    }

    /// Item 6: over TCP a 2,000-instance SRV answer (past 64 KiB) carries as many records as fit,
    /// starting at the rotation, with TC set; before it was 27 bytes of TC and nothing else.
    @Test func overTCPAnAnswerPast64KiBCarriesWhatFitsRotated() throws {
        try registerBig(2_000)
        let ids = parity.registry.entry(FunctionKey(service: "orders", function: "big"))!.instances.map(\.id)
        for rotation in [0, 999] {
            let (fast, reference) = try answers(
                "big.orders.local.", .srv, transport: .tcp, payload: nil, rotation: rotation, at: now)
            let answered = try #require(fast)
            #expect(answered.message.header.truncated)
            #expect(answered.message.answers.count > 1_000 && answered.length > 60_000 && answered.length <= 65_535)
            #expect(answered.message.answers.count == reference.message.answers.count)
            guard case .srv(let first)? = answered.message.answers.first?.rdata else { continue }
            #expect(first.target.description.hasPrefix(ids[rotation % ids.count] + "."), "the answer starts at the rotation")
        }
    }

    /// Heartbeats move deadlines without a new entry: the cached answer's TTL follows them.
    @Test func theTTLFollowsHeartbeatsWithoutANewEntry() throws {
        try registerBig(300)
        let query = ("big.orders.local.", RRType.srv)
        _ = try answers(query.0, query.1, transport: .tcp, payload: nil, rotation: 0, at: now)
        let later = now.adding(seconds: 15)
        let before = try answers(query.0, query.1, transport: .tcp, payload: nil, rotation: 0, at: later)
        #expect(before.fast?.message.answers.first?.ttl == before.reference.message.answers.first?.ttl)
        #expect(before.fast?.message.answers.first?.ttl == 4, "the earliest lease (20 s) ends in 5 s")
        for instance in parity.registry.entry(FunctionKey(service: "orders", function: "big"))!.instances {
            _ = parity.registry.renew(id: instance.id, now: later)
        }
        let after = try answers(query.0, query.1, transport: .tcp, payload: nil, rotation: 0, at: later)
        #expect(after.fast?.message.answers.first?.ttl == after.reference.message.answers.first?.ttl)
        #expect(after.fast?.message.answers.first?.ttl == 19, "renewed: the earliest lease ends in 20 s")
    }

    /// An instance whose lease ended leaves the answer at once, before any sweep.
    @Test func anEndedLeaseLeavesTheCachedAnswerBeforeTheSweep() throws {
        try registerBig(300)
        let (warm, _) = try answers("big.orders.local.", .srv, transport: .tcp, payload: nil, rotation: 0, at: now)
        #expect(warm?.message.answers.count == 300)
        let later = now.adding(seconds: 25)  // leases of 20 to 24 s have ended
        let (fast, reference) = try answers("big.orders.local.", .srv, transport: .tcp, payload: nil, rotation: 0, at: later)
        #expect(fast?.message.answers.count == reference.message.answers.count)
        #expect(reference.message.answers.count == (0..<300).filter { 20 + $0 % 21 > 25 }.count)
    }

    /// A small function keeps no rendering: in a table of many small functions that memory would
    /// add up, and filling one per query costs little.
    @Test func aSmallFunctionKeepsNoRendering() throws {
        try registerBig(FunctionAnswersLimits.cachedAbove)
        _ = try answers("big.orders.local.", .srv, transport: .udp, payload: 1232, rotation: 0, at: now)
        let kept = parity.registry.entry(FunctionKey(service: "orders", function: "big"))?.derived.load()
        #expect(kept == nil)
    }

    /// The rendering is kept with the entry and reused while nothing changes; a registration makes
    /// a new entry, which renders afresh.
    @Test func theRenderingIsReusedUntilTheEntryChanges() throws {
        try registerBig(100)
        let key = FunctionKey(service: "orders", function: "big")
        func rendering() -> (any AnyObject & Sendable)? { parity.registry.entry(key)?.derived.load() }
        _ = try answers("big.orders.local.", .a, transport: .udp, payload: 1232, rotation: 0, at: now)
        let first = try #require(rendering())
        _ = try answers("_big._tcp.orders.local.", .srv, transport: .udp, payload: 1232, rotation: 3, at: now)
        let second = rendering()
        #expect(second === first)
        try registerBig(101)
        let fresh = rendering()
        #expect(fresh == nil)
        let (fast, _) = try answers("big.orders.local.", .srv, transport: .tcp, payload: nil, rotation: 0, at: now)
        #expect(fast?.message.answers.count == 101)
    }
}
