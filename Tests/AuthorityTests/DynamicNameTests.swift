import Authority
import DNSWire
import Leases
import TestSupport
import Testing

/// Registration names under `local.` (CONTRACT "DNS names"), end to end on bytes, asked half a
/// second after registering: c1 (lease 30 s) has 29.5 s left → TTL 28; c2 (20 s) → 18; c6 (300 s)
/// → capped at 30; a1 (60 s) → 30; w1 (10 s) → 8; p1 (30 s) → 28. `gone` ended 5 s before.
@Suite struct DynamicNameTests {
    static let server = Server()

    static let srvRecords = [
        "18 SRV 10 5 8080 c1.create.orders.local.", "18 SRV 0 1 8081 c2.create.orders.local.",
        "18 SRV 0 1 8082 c6.create.orders.local.",
    ]
    static let srvAdditional = [
        rr("c1.create.orders.local. 28 A 10.0.0.1"), rr("c2.create.orders.local. 18 A 10.0.0.2"),
        rr("c6.create.orders.local. 30 AAAA 2001:db8::6"),
    ]

    static let cases: [QueryCase] = [
        // F.S: addresses of live instances, TTL from the earliest lease in each RRset.
        QueryCase(
            qname: "create.orders.local.", qtype: .a,
            answer: [rr("create.orders.local. 18 A 10.0.0.1"), rr("create.orders.local. 18 A 10.0.0.2")],
            note: "c2 ends first; gone is left out"),
        QueryCase(
            qname: "create.orders.local.", qtype: .aaaa, answer: [rr("create.orders.local. 30 AAAA 2001:db8::6")],
            note: "capped by max TTL 30"),
        QueryCase(
            qname: "create.orders.local.", qtype: .srv, answer: srvRecords.map { rr("create.orders.local. " + $0) },
            additional: srvAdditional, note: "targets' addresses in additional"),
        QueryCase(
            qname: "_create._tcp.orders.local.", qtype: .srv,
            answer: srvRecords.map { rr("_create._tcp.orders.local. " + $0) }, additional: srvAdditional,
            note: "RFC 2782 form"),
        QueryCase(
            qname: "_create._udp.orders.local.", qtype: .srv,
            answer: srvRecords.map { rr("_create._udp.orders.local. " + $0) }, additional: srvAdditional),
        QueryCase(qname: "create.orders.local.", qtype: .txt, authority: [localSOA], note: "NODATA"),
        QueryCase(qname: "_create._tcp.orders.local.", qtype: .a, authority: [localSOA], note: "SRV only"),
        QueryCase(
            qname: "charge.payments.local.", qtype: .srv,
            answer: [rr("charge.payments.local. 28 SRV 0 1 7000 p1.charge.payments.local.")],
            additional: [rr("p1.charge.payments.local. 28 A 10.0.1.1")]),

        // ID.F.S: one instance's address and meta.
        QueryCase(qname: "c1.create.orders.local.", qtype: .a, answer: [rr("c1.create.orders.local. 28 A 10.0.0.1")]),
        QueryCase(
            qname: "c1.create.orders.local.", qtype: .txt,
            answer: [rr("c1.create.orders.local. 28 TXT version=1.2"), rr("c1.create.orders.local. 28 TXT zone=a")],
            note: "meta as key=value, in order"),
        QueryCase(qname: "c1.create.orders.local.", qtype: .aaaa, authority: [localSOA], note: "a v4 instance"),
        QueryCase(
            qname: "c6.create.orders.local.", qtype: .aaaa,
            answer: [rr("c6.create.orders.local. 30 AAAA 2001:db8::6")]),
        QueryCase(qname: "c2.create.orders.local.", qtype: .txt, authority: [localSOA], note: "no meta: NODATA"),
        QueryCase(
            qname: "C1.Create.ORDERS.local.", qtype: .a, answer: [rr("c1.create.orders.local. 28 A 10.0.0.1")],
            note: "names match case-insensitively"),
        QueryCase(
            qname: "gone.create.orders.local.", qtype: .a, rcode: .nxDomain, authority: [localSOA],
            note: "past its deadline, not yet swept"),
        QueryCase(
            qname: "c1.api.orders.local.", qtype: .a, rcode: .nxDomain, authority: [localSOA],
            note: "c1 belongs to another function"),
        QueryCase(qname: "x.c1.create.orders.local.", qtype: .a, rcode: .nxDomain, authority: [localSOA]),

        // Names above live ones: empty non-terminals (RFC 8020 keeps them NOERROR).
        QueryCase(qname: "payments.local.", qtype: .a, authority: [localSOA], note: "S"),
        QueryCase(qname: "payments.local.", qtype: .srv, authority: [localSOA]),
        QueryCase(qname: "_tcp.payments.local.", qtype: .srv, authority: [localSOA], note: "_tcp.S"),
        QueryCase(qname: "_udp.payments.local.", qtype: .srv, authority: [localSOA], note: "_udp.S"),
        QueryCase(qname: "orders.local.", qtype: .a, authority: [localSOA]),

        // Anything else in the zone does not exist.
        QueryCase(
            qname: "nope.orders.local.", qtype: .a, rcode: .nxDomain, authority: [localSOA], note: "unknown function"),
        QueryCase(qname: "_nope._tcp.orders.local.", qtype: .srv, rcode: .nxDomain, authority: [localSOA]),
        QueryCase(qname: "unknown.local.", qtype: .a, rcode: .nxDomain, authority: [localSOA], note: "unknown service"),
        QueryCase(qname: "_tcp.unknown.local.", qtype: .srv, rcode: .nxDomain, authority: [localSOA]),
        QueryCase(
            qname: "_charge._sctp.payments.local.", qtype: .srv, rcode: .nxDomain, authority: [localSOA],
            note: "only _tcp and _udp"),
        QueryCase(qname: "a.b.c.d.local.", qtype: .a, rcode: .nxDomain, authority: [localSOA]),

        // Static records merged with registrations: the smaller TTL wins.
        QueryCase(
            qname: "api.orders.local.", qtype: .a,
            answer: [rr("api.orders.local. 20 A 192.0.2.80"), rr("api.orders.local. 20 A 10.0.0.50")],
            note: "static 20 < dynamic 30"),
        QueryCase(
            qname: "web.shop.local.", qtype: .aaaa,
            answer: [rr("web.shop.local. 8 AAAA 2001:db8::80"), rr("web.shop.local. 8 AAAA 2001:db8::81")],
            note: "dynamic 8 < static 300"),

        // The zone's own records.
        QueryCase(
            qname: "local.", qtype: .ns, answer: [rr("local. 60 NS ns.local.")],
            additional: [rr("ns.local. 60 A 127.0.0.1")]),
        QueryCase(qname: "ns.local.", qtype: .a, answer: [rr("ns.local. 60 A 127.0.0.1")]),
    ]

    @Test(arguments: cases)
    func registrationNamesAnswerAsTheContractSays(_ row: QueryCase) {
        #expect(Self.server.run(row) == [])
    }

    @Test(arguments: cases)
    func aRegistryAnswersExactlyAsAPlainTable(_ row: QueryCase) throws {
        let registry = Registry()
        for instance in Registrations.table().allInstances {
            _ = try registry.register(instance.spec, deadline: instance.deadline, now: instance.registeredAt)
        }
        let zones = Zones.all
        let resolver = Resolver(zones: zones, dynamic: DynamicNames(apex: dnsName("local."), maxTTL: 30))
        let query = row.query()
        let fromRegistry = resolver.resolve(
            query.message.questions[0], leases: registry, now: askedAt)
        let fromTable = resolver.resolve(query.message.questions[0], leases: Self.server.leases, now: askedAt)
        #expect(fromRegistry.outcome == fromTable.outcome)
        #expect(fromRegistry.answers.map(\.records) == fromTable.answers.map(\.records))
        #expect(fromRegistry.additionals.map(\.records) == fromTable.additionals.map(\.records))
    }

    // MARK: - Time

    /// CONTRACT: whole seconds until the earliest lease ends, minus one, capped by --max-ttl.
    @Test func theDynamicTTLCountsDownToTheLeaseToTheNanosecond() throws {
        let server = Server()
        let deadline = registeredAt.adding(seconds: 30)  // c1
        let expectations: [(Instant, UInt32?)] = [
            (registeredAt, 29),
            (registeredAt.adding(nanoseconds: 1), 28),
            (registeredAt.adding(seconds: 27), 2),
            (deadline.adding(seconds: -2), 1),
            (deadline.adding(seconds: -2).adding(nanoseconds: 1), 0),
            (deadline.adding(nanoseconds: -1), 0),
            (deadline, nil),
        ]
        for (now, ttl) in expectations {
            let response = try #require(server.ask("c1.create.orders.local.", .a, now: now))
            if let ttl {
                #expect(response.answers.map(\.ttl) == [ttl], "at \(now)")
            } else {
                #expect(response.rcode == .nxDomain, "at the deadline")
                #expect(response.answers.isEmpty)
            }
        }
        // c6's 300 s lease stays capped at 30 until fewer than 32 s are left.
        let c6Deadline = registeredAt.adding(seconds: 300)
        let capped = try #require(server.ask("c6.create.orders.local.", .aaaa, now: c6Deadline.adding(seconds: -31)))
        #expect(capped.answers.map(\.ttl) == [30])
        let below = try #require(
            server.ask("c6.create.orders.local.", .aaaa, now: c6Deadline.adding(seconds: -31).adding(nanoseconds: 1)))
        #expect(below.answers.map(\.ttl) == [29])
    }

    @Test func anInstancePastItsDeadlineIsGoneFromEveryAnswerAtThatInstant() throws {
        let server = Server()
        let c2Deadline = registeredAt.adding(seconds: 20)
        for (now, present) in [(c2Deadline.adding(nanoseconds: -1), true), (c2Deadline, false)] {
            let a = try #require(server.ask("create.orders.local.", .a, now: now))
            #expect(a.answers.contains(rr("create.orders.local. 0 A 10.0.0.2")) == present)
            let srv = try #require(server.ask("create.orders.local.", .srv, transport: .tcp, now: now))
            let targets = srv.answers.compactMap { record -> String? in
                if case .srv(let srv) = record.rdata { return srv.target.description } else { return nil }
            }
            #expect(targets.contains("c2.create.orders.local.") == present)
            #expect(srv.additionals.contains { $0.name == dnsName("c2.create.orders.local.") } == present)
            let byID = try #require(server.ask("c2.create.orders.local.", .a, now: now))
            #expect(byID.rcode == (present ? .noError : .nxDomain))
            let srvAlias = try #require(server.ask("_create._tcp.orders.local.", .srv, now: now))
            #expect(srvAlias.answers.count == (present ? 3 : 2))
        }
        // The only instance of a service: at its deadline the service, its function and its SRV
        // names stop existing together.
        let p1Deadline = registeredAt.adding(seconds: 30)
        for name in [
            "payments.local.", "_tcp.payments.local.", "charge.payments.local.", "_charge._tcp.payments.local.",
            "p1.charge.payments.local.",
        ] {
            let before = try #require(server.ask(name, .srv, now: p1Deadline.adding(nanoseconds: -1)))
            #expect(before.rcode == .noError, "\(name) before")
            let after = try #require(server.ask(name, .srv, now: p1Deadline))
            #expect(after.rcode == .nxDomain, "\(name) at the deadline")
            #expect(after.authorities == [localSOA])
        }
    }

    @Test func aStaticRecordAtARegistrationNameOutlivesTheRegistration() throws {
        let server = Server()
        let afterA1 = registeredAt.adding(seconds: 60)
        let response = try #require(server.ask("api.orders.local.", .a, now: afterA1))
        #expect(response.answers == [rr("api.orders.local. 20 A 192.0.2.80")])
    }

    @Test func theMergedTTLFollowsWhicheverSideIsSmallerAsTheLeaseRunsDown() throws {
        let server = Server()
        // a1's lease of 60 s: capped at 30 (static 20 wins) until its remaining time drops below 21 s.
        let a1Deadline = registeredAt.adding(seconds: 60)
        let early = try #require(server.ask("api.orders.local.", .a, now: a1Deadline.adding(seconds: -21)))
        #expect(early.answers.map(\.ttl) == [20, 20])
        let late = try #require(server.ask("api.orders.local.", .a, now: a1Deadline.adding(seconds: -5)))
        #expect(late.answers.map(\.ttl) == [4, 4])
    }

    // MARK: - Rotation

    @Test func rotationChangesTheOrderBetweenQueriesButNotTheContent() throws {
        let server = Server()
        var orders: [[String]] = []
        for rotation in 0..<4 {
            let bytes = try #require(
                server.respondBytes(DNSQuery("create.orders.local.", .srv).bytes, rotation: rotation))
            let response = try Message.decode(bytes)
            orders.append(response.answers.map { $0.rdata.presentation })
            #expect(Set(response.answers) == Set(Self.srvRecords.map { rr("create.orders.local. " + $0) }))
            #expect(response.additionals.count == 3)
        }
        #expect(orders[0] != orders[1] && orders[1] != orders[2] && orders[0] != orders[2])
        #expect(orders[3] == orders[0], "three records: rotation 3 wraps to 0")
        #expect(orders[1] == Array(orders[0][1...] + orders[0][..<1]))
    }

    @Test func anyRotationValueIsSafe() throws {
        let server = Server()
        for rotation in [-1, -2, -4, Int.min, Int.max, 1 << 40] {
            let bytes = try #require(
                server.respondBytes(DNSQuery("create.orders.local.", .srv).bytes, rotation: rotation))
            let response = try Message.decode(bytes)
            #expect(Set(response.answers) == Set(Self.srvRecords.map { rr("create.orders.local. " + $0) }))
        }
    }
}
