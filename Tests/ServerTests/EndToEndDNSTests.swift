import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import Leases
import PosixIO
import Testing

@Suite("End to end: DNS over real sockets", .serialized)
struct EndToEndDNSTests {
    @Test func shippedZoneAnswersSOAWithAAOverUDPAndTCP() throws {
        let beacon = try RunningBeacon()
        for tcp in [false, true] {
            let reply = try beacon.query("local.", .soa, tcp: tcp)
            #expect(reply.rcode == .noError)
            #expect(reply.header.authoritative)
            #expect(reply.answers.count == 1)
            guard case .soa(let soa)? = reply.answers.first?.rdata else {
                Issue.record("no SOA in \(reply)")
                continue
            }
            #expect(soa.minimum == 5)
        }
    }

    @Test func aRegistrationResolvesAtOnceWithSRVGlue() throws {
        let beacon = try RunningBeacon()
        let id = try beacon.register([
            "service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1",
        ])
        #expect(id == "web-1")
        let a = try beacon.query("create.orders.local.", .a)
        #expect(a.answerTexts == ["create.orders.local. A 10.0.0.5"])
        let srv = try beacon.query("create.orders.local.", .srv)
        #expect(srv.answerTexts == ["create.orders.local. SRV 0 1 8080 web-1.create.orders.local."])
        #expect(srv.additionals.contains { $0.type == .a && $0.name == (try! DomainName("web-1.create.orders.local.")) })
        let rfc2782 = try beacon.query("_create._tcp.orders.local.", .srv)
        #expect(rfc2782.answers.map(\.rdata) == srv.answers.map(\.rdata))
        let service = try beacon.query("orders.local.", .a)
        #expect(service.rcode == .noError)
        #expect(service.answers.isEmpty)
    }

    @Test func answerTTLNeverExceedsTheRemainingLease() throws {
        let beacon = try RunningBeacon()
        try beacon.register(["service": "s", "function": "f", "address": "10.0.0.1", "port": 1, "ttl": 3])
        try beacon.register(["service": "s", "function": "f", "address": "10.0.0.2", "port": 1, "ttl": 60])
        let reply = try beacon.query("f.s.local.", .a)
        #expect(reply.answers.count == 2)
        // The earliest lease has at most 3 s left: whole seconds minus one.
        #expect(reply.answers.allSatisfy { $0.ttl <= 2 })
    }

    @Test func anUnrenewedInstanceIsGoneRightAfterItsLease() throws {
        let beacon = try RunningBeacon()
        let id = try beacon.register(["service": "s", "function": "f", "address": "10.0.0.1", "port": 1, "ttl": 1])
        #expect(try beacon.query("f.s.local.", .a).answers.count == 1)
        Posix.sleep(milliseconds: 1_050)
        let after = try beacon.query("f.s.local.", .a)
        #expect(after.rcode == .nxDomain)
        var client = beacon.http()
        #expect(try client.json("POST", "/v1/instances/\(id)/heartbeat").status == 404)
    }

    @Test func deregisterRemovesAtOnceAndReportsTheDrainOfAnswersGivenOut() throws {
        let beacon = try RunningBeacon()
        let id = try beacon.register(["service": "s", "function": "f", "address": "10.0.0.1", "port": 1, "ttl": 20])
        let reply = try beacon.query("f.s.local.", .a)
        let ttl = try #require(reply.answers.first?.ttl)
        var client = beacon.http()
        let (status, body) = try client.json("DELETE", "/v1/instances/\(id)")
        #expect(status == 200)
        let drain = try #require(body["drain"]?.numberValue?.asDouble)
        // Sent just now with TTL t: cacheable for t seconds plus the last whole second.
        #expect(drain <= Double(ttl) + 1.0)
        #expect(drain > Double(ttl) + 0.5)
        // The function's answers drop it at once; its own name answers through the drain, so `f.s`
        // is an empty non-terminal above it (NOERROR, no data).
        let function = try beacon.query("f.s.local.", .a)
        #expect(function.rcode == .noError && function.answers.isEmpty)
        #expect(try beacon.query("f.s.local.", .srv).answers.isEmpty)
        #expect(try beacon.query("_f._tcp.s.local.", .srv).rcode == .nxDomain)
        let own = try beacon.query("\(id).f.s.local.", .a)
        #expect(own.rcode == .noError && own.answers.count == 1)
        // Its TTL ends within the drain: whole seconds to the drain's end, minus one.
        let ownTTL = try #require(own.answers.first?.ttl)
        #expect(Double(ownTTL) + 1 <= drain)
        var client2 = beacon.http()
        #expect(try client2.json("GET", "/v1/instances/\(id)").status == 404, "deregistered: the API says gone")
        #expect(try client2.json("POST", "/v1/instances/\(id)/heartbeat").status == 404)
    }

    @Test func theInstanceNameAnswersUntilTheDrainEndsThenIsNXDomain() throws {
        let beacon = try RunningBeacon()
        let id = try beacon.register(["service": "s", "function": "d", "address": "10.0.0.9", "port": 1, "ttl": 3])
        _ = try beacon.query("_d._tcp.s.local.", .srv)  // an SRV answer with a TTL of about 1 s goes out
        var client = beacon.http()
        let (_, body) = try client.json("DELETE", "/v1/instances/\(id)")
        let drain = try #require(body["drain"]?.numberValue?.asDouble)
        #expect(drain > 1 && drain <= 3)
        #expect(try beacon.query("\(id).d.s.local.", .a).answers.count == 1)
        #expect(try beacon.query("s.local.", .a).rcode == .noError, "the service is an empty non-terminal")
        // Once the drain has ended: gone from every name.
        Posix.sleep(milliseconds: Int(drain * 1000) + 50)
        #expect(try beacon.query("\(id).d.s.local.", .a).rcode == .nxDomain)
        #expect(try beacon.query("d.s.local.", .a).rcode == .nxDomain)
    }

    @Test func deregisterOfAnInstanceNeverAnsweredHasZeroDrain() throws {
        let beacon = try RunningBeacon()
        let id = try beacon.register(["service": "s", "function": "g", "address": "10.0.0.1", "port": 1])
        var client = beacon.http()
        let (status, body) = try client.json("DELETE", "/v1/instances/\(id)")
        #expect(status == 200)
        #expect(body["drain"]?.numberValue?.asDouble == 0)
    }

    @Test func rfc7766TruncatedUDPAnswerIsWholeOverTCP() throws {
        let beacon = try RunningBeacon()
        for index in 1...40 {
            try beacon.register(["service": "big", "function": "f", "address": .string("10.0.1.\(index)"), "port": 80])
        }
        // Without EDNS the limit is 512 bytes: 40 SRV records do not fit.
        var query = Message(header: Header(id: 7))
        query.questions = [Question(name: try DomainName("f.big.local."), type: .srv)]
        let udp = try beacon.dns.exchangeUDP(try query.encode(), id: 7)
        #expect(udp.header.truncated)
        #expect(udp.answers.isEmpty)
        let tcp = try beacon.dns.exchangeTCP(try query.encode(), id: 7)
        #expect(!tcp.header.truncated)
        #expect(tcp.answers.count == 40)
    }

    /// `--udp-max-payload 8192`: a 100-instance SRV answer with its glue (about 6.5 KB, past the
    /// 4 KB datagram buffers of the default) comes back whole in one UDP reply, and the OPT says 8192.
    @Test func aRaisedUDPMaxPayloadCarriesALargeAnswerInOneDatagram() throws {
        let beacon = try RunningBeacon { $0.udpMaxPayload = 8192 }
        for index in 1...100 {
            try beacon.register([
                "service": "big", "function": "f", "id": .string("instance-\(index)"),
                "address": .string("10.0.\(index / 200).\(index % 200 + 1)"), "port": 80,
            ])
        }
        var query = Message(header: Header(id: 9))
        query.questions = [Question(name: try DomainName("f.big.local."), type: .srv)]
        query.additionals = [EDNS(udpPayloadSize: 8192).record]
        let udp = try beacon.dns.exchangeUDP(try query.encode(), id: 9)
        #expect(!udp.header.truncated)
        #expect(udp.answers.count == 100)
        #expect(udp.additionals.filter { $0.type == .a }.count == 100)
        #expect(udp.edns?.udpPayloadSize == 8192)
    }

    @Test func twoPipelinedTCPQueriesGetTwoAnswersInOrder() throws {
        let beacon = try RunningBeacon()
        var bytes: [UInt8] = []
        for (id, name) in [(1, "local."), (2, "nothing.local.")] as [(UInt16, String)] {
            var query = Message(header: Header(id: id))
            query.questions = [Question(name: try DomainName(name), type: .soa)]
            let encoded = try query.encode()
            bytes += [UInt8(encoded.count >> 8), UInt8(encoded.count & 0xFF)] + encoded
        }
        let stream = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
        try stream.write(bytes)
        var framer = TCPFramer()
        var replies: [Message] = []
        while replies.count < 2 {
            let chunk = try stream.read()
            #expect(!chunk.isEmpty)
            if chunk.isEmpty { break }
            framer.append(chunk)
            while case .message(let message) = framer.next() { replies.append(try Message.decode(message)) }
        }
        #expect(replies.map(\.header.id) == [1, 2])
        #expect(replies.map(\.rcode) == [.noError, .nxDomain])
    }

    /// Over TCP a frame that gets no reply (QR set, or too short for a header) is skipped and the
    /// connection answers the queries after it. Before the fix the connection closed on it and the
    /// queries behind it were lost.
    @Test func aTCPFrameWithQRSetIsSkippedAndTheNextQueriesAreAnswered() throws {
        let beacon = try RunningBeacon()
        func frame(_ id: UInt16, _ name: String, response: Bool = false) throws -> [UInt8] {
            var header = Header(id: id)
            header.isResponse = response
            let bytes = try Message(header: header, questions: [Question(name: try DomainName(name), type: .soa)]).encode()
            return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
        }
        let stream = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
        try stream.write(try frame(1, "local.", response: true) + [0, 3, 1, 2, 3] + frame(2, "local.") + frame(3, "nothing.local."))
        var framer = TCPFramer()
        var replies: [Message] = []
        while replies.count < 2 {
            let chunk = try stream.read()
            #expect(!chunk.isEmpty, "the connection closed after \(replies.count) replies")
            if chunk.isEmpty { break }
            framer.append(chunk)
            while case .message(let message) = framer.next() { replies.append(try Message.decode(message)) }
        }
        #expect(replies.map(\.header.id) == [2, 3], "no reply to the response or the 3-byte frame, then both queries")
        #expect(replies.map(\.rcode) == [.noError, .nxDomain])
        // And the connection still takes queries afterwards.
        try stream.write(try frame(4, "local.", response: true) + frame(5, "local."))
        var last: Message? = nil
        while last == nil {
            let chunk = try stream.read()
            if chunk.isEmpty { break }
            framer.append(chunk)
            if case .message(let message) = framer.next() { last = try Message.decode(message) }
        }
        #expect(last?.header.id == 5)
    }

    @Test func namesOutsideTheServedZonesAreRefused() throws {
        let beacon = try RunningBeacon()
        #expect(try beacon.query("example.com.", .a).rcode == .refused)
    }
}
