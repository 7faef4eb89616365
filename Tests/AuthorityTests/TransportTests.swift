import Authority
import DNSWire
import Leases
import TestSupport
import Testing

/// What depends on the transport: ANY (RFC 8482), UDP truncation by whole RRsets (RFC 2181 §9),
/// and the exposure each sent answer records for the deregistration `drain`.
@Suite struct TransportTests {
    /// The fixture's registrations plus two fleets under `fleet.local.`:
    /// `big` (40 IPv6 instances, lease 30 s) and `srv` (10 IPv4 instances, leases 10 + i s).
    static func fleetServer() -> Server {
        var table = Registrations.table()
        for index in 0..<40 {
            _ = try? table.register(
                Registrations.instance(
                    "b\(index)", "fleet", "big", "2001:db8::\(String(index + 1, radix: 16))", 443, ttl: 30),
                now: registeredAt)
        }
        for index in 0..<10 {
            _ = try? table.register(
                Registrations.instance("s\(index)", "fleet", "srv", "10.1.0.\(index + 1)", 80, ttl: 10 + UInt32(index)),
                now: registeredAt)
        }
        return Server(leases: table)
    }

    // MARK: - ANY

    @Test func rfc8482AnyOverUDPGetsOneRRsetAndOverTCPGetsThemAll() throws {
        let server = Server()
        let udp = try #require(server.ask("www.beacon.test.", .any))
        #expect(udp.answers == [rr("www.beacon.test. 300 A 192.0.2.1")])
        let tcp = try #require(server.ask("www.beacon.test.", .any, transport: .tcp))
        #expect(tcp.answers == [rr("www.beacon.test. 300 A 192.0.2.1"), rr("www.beacon.test. 300 AAAA 2001:db8::1")])

        let dynamicUDP = try #require(server.ask("create.orders.local.", .any))
        #expect(Set(dynamicUDP.answers.map(\.type)).count == 1)
        #expect(dynamicUDP.rcode == .noError && dynamicUDP.header.authoritative)
        let dynamicTCP = try #require(server.ask("create.orders.local.", .any, transport: .tcp))
        #expect(dynamicTCP.answers.map(\.type) == [.a, .a, .aaaa, .srv, .srv, .srv])
        #expect(dynamicTCP.additionals.count == 3, "the SRV targets' addresses")
    }

    /// RFC 1034 §3.6.2 and §4.3.2 step 3a: a CNAME is restarted only when QTYPE does not match it,
    /// and ANY matches it. Before the fix, UDP gave the CNAME and its target's A, TCP also the AAAA.
    @Test(arguments: [Responder.Transport.udp, .tcp])
    func rfc1034AnyAtACNAMEIsTheCNAMEAlone(transport: Responder.Transport) throws {
        let server = Server()
        let cases = [
            ("alias.beacon.test.", rr("alias.beacon.test. 300 CNAME alias2.beacon.test.")),
            ("out.beacon.test.", rr("out.beacon.test. 300 CNAME www.elsewhere.org.")),
            ("x.cn.beacon.test.", rr("x.cn.beacon.test. 300 CNAME www.beacon.test.")),  // from the wildcard *.cn
            ("bigalias.local.", rr("bigalias.local. 60 CNAME big.fleet.local.")),
        ]
        for (name, cname) in cases {
            let response = try #require(server.ask(name, .any, transport: transport))
            #expect(response.rcode == .noError, "\(name)")
            #expect(response.header.authoritative, "\(name)")
            #expect(response.answers == [cname], "\(name)")
            #expect(response.authorities.isEmpty && response.additionals.isEmpty, "\(name)")
        }
    }

    @Test func anyAtAnEmptyNonTerminalIsNoData() throws {
        let response = try #require(Server().ask("payments.local.", .any, transport: .tcp))
        #expect(response.rcode == .noError)
        #expect(response.answers.isEmpty)
        #expect(response.authorities == [localSOA])
    }

    // MARK: - Truncation

    @Test func anAnswerLargerThan512BytesWithoutEDNSSetsTCAndCarriesNoRecords() throws {
        let server = Self.fleetServer()
        let query = DNSQuery("big.fleet.local.", .aaaa, id: 0x7C7C)
        let bytes = try #require(server.respondBytes(query.bytes))
        #expect(bytes.count <= 512)
        let response = try Message.decode(bytes)
        #expect(response.header.truncated)
        #expect(response.header.id == 0x7C7C)
        #expect(response.rcode == .noError)
        #expect(response.answers.isEmpty && response.authorities.isEmpty && response.additionals.isEmpty)
        #expect(response.questions == query.message.questions)
        #expect(bytes.count == query.questionEnd, "nothing after the question")

        // A client that says it takes only 512 (or less, RFC 6891 §6.2.5) is held to 512 too, OPT included.
        for payload in [UInt16(512), 100] {
            let small = try #require(
                server.respondBytes(DNSQuery("big.fleet.local.", .aaaa, edns: EDNS(udpPayloadSize: payload)).bytes))
            #expect(small.count <= 512)
            let decoded = try Message.decode(small)
            #expect(decoded.header.truncated)
            #expect(decoded.answers.isEmpty)
            #expect(decoded.edns != nil, "the OPT still goes back")
        }
    }

    /// RFC 2181 §9: when an RRset does not fit, the sets already written come out too (the CNAME
    /// here), leaving only the header and question with TC.
    @Test func aTruncatedResponseDropsTheRRsetsThatDidFitToo() throws {
        let server = Self.fleetServer()
        let full = try #require(server.ask("bigalias.local.", .aaaa, transport: .tcp))
        #expect(full.answers.count == 41)
        #expect(full.answers.first == rr("bigalias.local. 60 CNAME big.fleet.local."))
        let query = DNSQuery("bigalias.local.", .aaaa)
        let bytes = try #require(server.respondBytes(query.bytes))
        #expect(bytes.count == query.questionEnd)
        let response = try Message.decode(bytes)
        #expect(response.header.truncated)
        #expect(response.answers.isEmpty)
    }

    @Test func withEDNS1232TheSameAnswerFitsWithoutTC() throws {
        let server = Self.fleetServer()
        let bytes = try #require(
            server.respondBytes(DNSQuery("big.fleet.local.", .aaaa, edns: EDNS(udpPayloadSize: 4096)).bytes))
        #expect(bytes.count > 512 && bytes.count <= 1232)
        let response = try Message.decode(bytes)
        #expect(!response.header.truncated)
        #expect(response.answers.count == 40)
        #expect(response.answers.allSatisfy { $0.ttl == 28 })
    }

    @Test func overTCPTheWholeAnswerGoesOut() throws {
        let server = Self.fleetServer()
        let response = try #require(server.ask("big.fleet.local.", .aaaa, transport: .tcp))
        #expect(!response.header.truncated)
        #expect(response.answers.count == 40)
    }

    @Test func additionalSetsThatDoNotFitAreDroppedWithoutTC() throws {
        let server = Self.fleetServer()
        let udpBytes = try #require(server.respondBytes(DNSQuery("srv.fleet.local.", .srv).bytes))
        #expect(udpBytes.count <= 512)
        let udp = try Message.decode(udpBytes)
        let tcp = try #require(server.ask("srv.fleet.local.", .srv, transport: .tcp))
        #expect(!udp.header.truncated)
        #expect(udp.answers == tcp.answers)
        #expect(udp.answers.count == 10)
        #expect(tcp.additionals.count == 10)
        #expect(udp.additionals.count > 0 && udp.additionals.count < 10, "\(udp.additionals.count) fit")
        #expect(udp.additionals == Array(tcp.additionals.prefix(udp.additionals.count)), "whole sets, in order")
    }

    // MARK: - Exposure (the deregistration drain)

    @Test func anAnswerHoldingAnInstanceExposesItUntilSendTimePlusTTLPlusOneSecond() throws {
        let server = Server()
        let c1 = server.instance("c1")
        let c2 = server.instance("c2")
        #expect(c1.exposedUntil == .zero && c2.exposedUntil == .zero)

        let byID = try #require(server.ask("c2.create.orders.local.", .a))
        #expect(byID.answers.map(\.ttl) == [18])
        #expect(c2.exposedUntil == askedAt.adding(seconds: 18 + 1))
        #expect(c1.exposedUntil == .zero, "an answer exposes only the instances it holds")

        // Later, the function's A set (TTL from c2, the earliest) exposes both until then + 18 + 1 s.
        let later = askedAt.adding(milliseconds: 250)
        let function = try #require(server.ask("create.orders.local.", .a, now: later))
        let ttl = try #require(function.answers.first?.ttl)
        #expect(ttl == 18)
        #expect(c1.exposedUntil == later.adding(seconds: Int64(ttl) + 1))
        #expect(c2.exposedUntil == later.adding(seconds: Int64(ttl) + 1))
        #expect(c1.drainSeconds(now: later) == Double(ttl) + 1)
    }

    @Test func anSRVAnswerExposesEachInstanceByTheLongerOfItsSRVAndAddressTTLs() throws {
        let server = Server()
        _ = try #require(server.ask("create.orders.local.", .srv))
        // SRV TTL 18 for all; additional A/AAAA: c1 28, c2 18, c6 30.
        #expect(server.instance("c1").exposedUntil == askedAt.adding(seconds: 29))
        #expect(server.instance("c2").exposedUntil == askedAt.adding(seconds: 19))
        #expect(server.instance("c6").exposedUntil == askedAt.adding(seconds: 31))
        #expect(server.instance("a1").exposedUntil == .zero)
    }

    @Test func aMergedRRsetExposesItsInstancesByTheMergedTTL() throws {
        let server = Server()
        let response = try #require(server.ask("api.orders.local.", .a))
        #expect(response.answers.map(\.ttl) == [20, 20])
        #expect(server.instance("a1").exposedUntil == askedAt.adding(seconds: 21))
    }

    @Test func answersWithoutTheInstanceExposeNothing() throws {
        let server = Server()
        for (name, type) in [
            ("c1.create.orders.local.", RRType.aaaa), ("orders.local.", .a), ("nope.orders.local.", .a),
            ("www.beacon.test.", .a),
        ] {
            _ = try #require(server.ask(name, type))
        }
        // A query that fails in the header or the question exposes nothing either.
        _ = server.respondBytes(DNSQuery("c1.create.orders.local.", .a, opcode: .notify).bytes)
        _ = server.respondBytes(DNSQuery("c1.create.orders.local.", .a, edns: EDNS(version: 1)).bytes)
        for instance in server.leases.allInstances { #expect(instance.exposedUntil == .zero, "\(instance.id)") }
    }

    @Test func aTruncatedResponseRecordsNoExposure() throws {
        let server = Self.fleetServer()
        let truncated = try Message.decode(try #require(server.respondBytes(DNSQuery("big.fleet.local.", .aaaa).bytes)))
        #expect(truncated.header.truncated)
        let fleet = server.leases.allInstances.filter { $0.spec.function == "big" }
        #expect(fleet.count == 40)
        #expect(fleet.allSatisfy { $0.exposedUntil == .zero })

        // The retry over TCP does go out, and exposes them all.
        _ = try #require(server.ask("big.fleet.local.", .aaaa, transport: .tcp))
        #expect(fleet.allSatisfy { $0.exposedUntil == askedAt.adding(seconds: 28 + 1) })
    }

    @Test func anAdditionalSetLeftOutOfTheResponseRecordsNoExposure() throws {
        let server = Self.fleetServer()
        let response = try Message.decode(try #require(server.respondBytes(DNSQuery("srv.fleet.local.", .srv).bytes)))
        let included = Set(response.additionals.map(\.name))
        #expect(!included.isEmpty && included.count < 10)
        // The SRV set (TTL 8, from s0's 10 s lease) holds them all; each instance's own A (TTL 8 + i)
        // counts only if it went out.
        #expect(response.answers.allSatisfy { $0.ttl == 8 })
        for index in 0..<10 {
            let instance = server.instance("s\(index)")
            let sent = included.contains(dnsName("s\(index).srv.fleet.local."))
            let expectedTTL = sent ? 8 + index : 8
            #expect(
                instance.exposedUntil == askedAt.adding(seconds: Int64(expectedTTL) + 1),
                "s\(index) (A \(sent ? "sent" : "left out"))")
        }
    }
}
