import Authority
import DNSWire
import TestSupport
import Testing

/// EDNS(0) (RFC 6891) as the contract states it: OPT answered when present with payload 1232,
/// BADVERS with OPT version 0 for version > 0, unknown options ignored, DO copied (RFC 3225).
@Suite struct EDNSTests {
    static let server = Server()

    @Test(arguments: [UInt16(512), 1232, 4096, 65535])
    func anOPTIsAnsweredWithPayload1232AndVersion0(_ payload: UInt16) throws {
        let response = try #require(
            Self.server.ask(DNSQuery("www.beacon.test.", .a, edns: EDNS(udpPayloadSize: payload))))
        #expect(response.rcode == .noError)
        #expect(response.answers.count == 1)
        let opt = try #require(response.edns)
        #expect(opt.udpPayloadSize == 1232)
        #expect(opt.version == 0)
        #expect(opt.extendedRCodeHigh == 0)
        #expect(response.additionals.filter { $0.type == .opt }.count == 1)
        #expect(response.additionals.last?.type == .opt)
    }

    @Test func noOPTInTheQueryMeansNoOPTInTheResponse() throws {
        let response = try #require(Self.server.ask("www.beacon.test.", .a))
        #expect(response.edns == nil)
    }

    @Test func rfc6891VersionAbove0GetsBADVERSWithAnOPTOfVersion0() throws {
        for version in [UInt8(1), 2, 255] {
            let query = DNSQuery("www.beacon.test.", .a, id: 0x0BAD, edns: EDNS(version: version))
            let bytes = try #require(Self.server.respondBytes(query.bytes))
            let response = try Message.decode(bytes)
            #expect(response.rcode == .badVers, "version \(version)")
            #expect(response.header.rcodeLow == 0, "BADVERS is 16: its low four bits are 0")
            let opt = try #require(response.edns)
            #expect(opt.extendedRCodeHigh == 1)
            #expect(opt.version == 0)
            #expect(response.header.id == 0x0BAD)
            #expect(response.answers.isEmpty)
            #expect(
                Array(bytes[Header.size..<query.questionEnd]) == Array(query.bytes[Header.size..<query.questionEnd]))
        }
    }

    @Test func rfc6891TwoOPTRecordsGetFORMERR() throws {
        let query = DNSQuery("www.beacon.test.", .a, id: 0x0202, edns: EDNS(), extraAdditionals: [EDNS().record])
        let response = try #require(Self.server.ask(query))
        #expect(response.rcode == .formErr)
        #expect(response.header.id == 0x0202)
        #expect(response.answers.isEmpty)
    }

    @Test func rfc6891AnOPTWhoseOwnerIsNotTheRootGetsFORMERR() throws {
        var record = EDNS().record
        record.name = dnsName("beacon.test.")
        let query = DNSQuery("www.beacon.test.", .a, extraAdditionals: [record])
        #expect(try #require(Self.server.ask(query)).rcode == .formErr)
    }

    @Test func aTruncatedOPTRecordGetsFORMERRWithoutAnOPT() throws {
        let query = DNSQuery("www.beacon.test.", .a, id: 0x0707, edns: EDNS(options: [EDNSOption(code: 10, data: [1, 2])]))
        let bytes = Array(query.bytes.dropLast(1))
        let response = try Message.decode(try #require(Self.server.respondBytes(bytes)))
        #expect(response.rcode == .formErr)
        #expect(response.header.id == 0x0707)
        #expect(response.edns == nil)
    }

    @Test func unknownOptionsAndACookieAreToleratedAndNotEchoed() throws {
        let options = [
            EDNSOption(code: 65_001, data: [1, 2, 3]),
            EDNSOption(code: EDNSOption.cookieCode, data: [0xC0, 0x0C, 0x1E, 0x00, 0x01, 0x02, 0x03, 0x04]),
            EDNSOption(code: 8, data: [0, 1, 24, 0, 192, 0, 2]),  // client subnet
        ]
        let response = try #require(
            Self.server.ask(DNSQuery("create.orders.local.", .srv, edns: EDNS(options: options))))
        #expect(response.rcode == .noError)
        #expect(response.answers.count == 3)
        #expect(try #require(response.edns).options == [])
    }

    @Test func rfc3225TheDOBitIsCopiedAndOtherFlagsAreNot() throws {
        let withDO = try #require(Self.server.ask(DNSQuery("www.beacon.test.", .a, edns: EDNS(flags: 0x8000))))
        #expect(try #require(withDO.edns).flags == 0x8000)
        let withoutDO = try #require(Self.server.ask(DNSQuery("www.beacon.test.", .a, edns: EDNS(flags: 0x7FFF))))
        #expect(try #require(withoutDO.edns).flags == 0)
    }

    @Test func errorsFoundAfterTheOPTStillAnswerWithAnOPT() throws {
        // A REFUSED and an NXDOMAIN after a readable OPT both carry one.
        for name in ["www.elsewhere.org.", "nothing.beacon.test."] {
            let response = try #require(Self.server.ask(DNSQuery(name, .a, edns: EDNS())))
            #expect(response.edns?.udpPayloadSize == 1232, "\(name)")
        }
    }
}

extension EDNSTests {
    /// RFC 6891 §7: "If an OPT record is present in a received request, compliant responders MUST
    /// include an OPT record in their respective responses." That holds for the errors decided from
    /// the header too (NOTIMP for another opcode, FORMERR for a QDCOUNT other than 1), whenever the
    /// rest of the message can be read to find the OPT.
    @Test func rfc6891AnOPTIsAnsweredOnNOTIMPAndOnFORMERRForTheQuestionCount() throws {
        let notify = DNSQuery("beacon.test.", .soa, id: 0x0404, opcode: .notify, edns: EDNS(flags: 0x8000))
        let notImp = try #require(Self.server.ask(notify))
        #expect(notImp.rcode == .notImp)
        #expect(notImp.header.id == 0x0404)
        #expect(notImp.edns == EDNS(udpPayloadSize: 1232, flags: 0x8000))

        let none = try Message(header: Header(id: 0x0505), additionals: [EDNS().record]).encode()
        let noQuestion = try Message.decode(try #require(Self.server.respondBytes(none)))
        #expect(noQuestion.rcode == .formErr)
        #expect(noQuestion.edns?.udpPayloadSize == 1232)

        let two = try Message(
            header: Header(id: 0x0606),
            questions: [
                Question(name: dnsName("www.beacon.test."), type: .a),
                Question(name: dnsName("x.beacon.test."), type: .a),
            ],
            additionals: [EDNS().record]
        ).encode()
        let twoQuestions = try Message.decode(try #require(Self.server.respondBytes(two)))
        #expect(twoQuestions.rcode == .formErr)
        #expect(twoQuestions.header.id == 0x0606)
        #expect(twoQuestions.edns?.udpPayloadSize == 1232)

        // Without an OPT in the request, none in the response.
        let plain = try #require(Self.server.ask(DNSQuery("beacon.test.", .soa, opcode: .notify)))
        #expect(plain.rcode == .notImp)
        #expect(plain.edns == nil)
    }
}

/// `--udp-max-payload` (Knot's `udp-max-payload`): a UDP client gets min(its EDNS size, the
/// setting), and the OPT advertises the setting.
extension EDNSTests {
    @Test(arguments: [
        (clientPayload: 4096, maximum: 1232, limit: 1232), (4096, 4096, 4096), (1000, 4096, 1000),
        (100, 4096, 512), (512, 65_535, 512), (65_535, 65_535, 65_507),
    ])
    func theUDPLimitIsTheClientSizeCappedByTheSetting(clientPayload: Int, maximum: Int, limit: Int) {
        #expect(ResponsePolicy.udpLimit(clientPayload: clientPayload, maximum: maximum) == limit)
        #expect(ResponsePolicy.udpLimit(for: nil, maximum: maximum) == 512, "no EDNS: 512 whatever the setting")
    }

    @Test func aRaisedMaximumLetsALargeAnswerThroughUDPAndIsAdvertised() throws {
        let raised = Server(leases: TransportTests.fleetServer().leases, udpMaxPayload: 4096)
        let query = DNSQuery("big.fleet.local.", .srv, edns: EDNS(udpPayloadSize: 4096))
        let bytes = try #require(raised.respondBytes(query.bytes))
        #expect(bytes.count > 1232 && bytes.count <= 4096)
        let response = try Message.decode(bytes)
        #expect(!response.header.truncated)
        #expect(response.answers.count == 40)
        #expect(response.additionals.filter { $0.type == .aaaa }.count == 40, "every target's address fits")
        #expect(response.edns?.udpPayloadSize == 4096)

        // The same server still holds a client to the size it offered.
        let small = try Message.decode(
            try #require(raised.respondBytes(DNSQuery("big.fleet.local.", .srv, edns: EDNS(udpPayloadSize: 1232)).bytes)))
        #expect(small.header.truncated)
        #expect(small.edns?.udpPayloadSize == 4096)

        // With the default setting the 4096-byte client gets 1232 at most: TC.
        let defaultServer = TransportTests.fleetServer()
        let capped = try #require(defaultServer.respondBytes(query.bytes))
        #expect(capped.count <= 1232)
        #expect(try Message.decode(capped).header.truncated)
    }
}
