import Authority
import DNSWire
import Leases
import TestSupport
import Testing

/// What the responder does with the header and question before any lookup: echoes, drops,
/// NOTIMP and FORMERR (CONTRACT "DNS names"; RFC 1035 §4.1.1; STYLE 3.4 #7).
@Suite struct HeaderRulesTests {
    static let server = Server()

    func decode(_ bytes: [UInt8]?, sourceLocation: SourceLocation = #_sourceLocation) throws -> Message {
        let bytes = try #require(bytes, "dropped", sourceLocation: sourceLocation)
        return try Message.decode(bytes)
    }

    // MARK: - Echoes

    @Test func theQuestionIsEchoedByteForByteWithItsMixedCase() throws {
        for (name, type) in [
            ("wWw.BeAcOn.TeSt.", RRType.a), ("cReAtE.oRdErS.LoCaL.", .srv), ("NoThInG.bEaCoN.tEsT.", .a),
            ("C1.cReAtE.OrDeRs.LOCAL.", .txt), ("WWW.ELSEWHERE.ORG.", .a),
        ] {
            let query = DNSQuery(name, type)
            let response = try #require(Self.server.respondBytes(query.bytes))
            #expect(
                Array(response[Header.size..<query.questionEnd]) == Array(query.bytes[Header.size..<query.questionEnd]))
            #expect(response.uint16(at: 4) == 1, "QDCOUNT")
            let decoded = try Message.decode(response)
            for record in decoded.answers where record.name == query.name {
                #expect(record.name.isIdentical(to: query.name), "the answer's owner keeps the question's case")
            }
        }
    }

    /// RFC 1035 §4.1.1 echoes ID and RD. CD is not copied (CONTRACT; Knot clears it too): before the
    /// fix every reply carried the query's CD, NOTIMP ones included (ISC's `opcodeflg` saw `rd,cd`).
    @Test(arguments: [UInt16(0), 1, 0x1234, 0xBEEF, 0xFFFF])
    func theIDAndTheRDBitAreEchoedAndCDIsNot(_ id: UInt16) throws {
        for recursionDesired in [false, true] {
            for checkingDisabled in [false, true] {
                let query = DNSQuery(
                    "www.beacon.test.", .a, id: id, recursionDesired: recursionDesired,
                    checkingDisabled: checkingDisabled)
                let response = try decode(Self.server.respondBytes(query.bytes))
                #expect(response.header.id == id)
                #expect(response.header.recursionDesired == recursionDesired)
                #expect(!response.header.checkingDisabled, "CD is never copied")
                #expect(response.header.isResponse)
                #expect(!response.header.recursionAvailable, "no recursion offered")
                #expect(response.header.opcode == .query)
            }
        }
    }

    @Test func theAABitIsSetForAnswersInsideServedZonesOnly() throws {
        let cases: [(String, RRType, Bool)] = [
            ("www.beacon.test.", .a, true), ("www.beacon.test.", .mx, true), ("nothing.beacon.test.", .a, true),
            ("create.orders.local.", .srv, true), ("payments.local.", .a, true), ("nope.orders.local.", .a, true),
            ("www.sub.beacon.test.", .a, false), ("www.elsewhere.org.", .a, false),
        ]
        for (name, type, authoritative) in cases {
            let response = try #require(Self.server.ask(name, type))
            #expect(response.header.authoritative == authoritative, "\(name) \(type)")
        }
    }

    // MARK: - Drops

    @Test func aMessageWithQRSetIsDropped() {
        #expect(Self.server.respondBytes(DNSQuery("www.beacon.test.", .a, isResponse: true).bytes) == nil)
        #expect(
            Self.server.respondBytes(DNSQuery("www.beacon.test.", .a, opcode: .notify, isResponse: true).bytes) == nil)
    }

    @Test func aMessageShorterThanTheHeaderIsDropped() {
        let query = DNSQuery("www.beacon.test.", .a).bytes
        for length in 0..<Header.size {
            #expect(Self.server.respondBytes(Array(query.prefix(length))) == nil, "\(length) bytes")
        }
    }

    // MARK: - NOTIMP and FORMERR

    @Test(arguments: [Opcode.notify, .update, .iquery, .status, Opcode(3), Opcode(15)])
    func anOpcodeOtherThanQueryGetsNOTIMPWithTheOriginalID(_ opcode: Opcode) throws {
        let query = DNSQuery("BeAcOn.TeSt.", .soa, id: 0x4242, opcode: opcode)
        let bytes = try #require(Self.server.respondBytes(query.bytes))
        let response = try Message.decode(bytes)
        #expect(response.rcode == .notImp)
        // CONTRACT: the reply echoes the question bytes exactly; a NOTIFY (RFC 1996) or UPDATE
        // (RFC 2136, its zone section) carries a readable one.
        #expect(response.questions == query.message.questions)
        #expect(Array(bytes[Header.size..<query.questionEnd]) == Array(query.bytes[Header.size..<query.questionEnd]))
        #expect(response.header.id == 0x4242)
        #expect(response.header.opcode == opcode)
        #expect(response.answers.isEmpty && response.authorities.isEmpty)
        #expect(!response.header.authoritative)
    }

    /// ISC's EDNS compliance test `opcodeflg`: an unknown opcode with RD and CD set gets NOTIMP with
    /// only QR and RD (and the opcode) in the flags, as Knot answers.
    @Test(arguments: [Opcode(15), .notify, .update], [false, true])
    func aNOTIMPReplyDoesNotCopyCD(_ opcode: Opcode, edns: Bool) throws {
        let query = DNSQuery(
            "beacon.test.", .soa, id: 0x0F0F, recursionDesired: true, checkingDisabled: true, opcode: opcode,
            edns: edns ? EDNS() : nil)
        let response = try decode(Self.server.respondBytes(query.bytes))
        #expect(response.rcode == .notImp)
        #expect(response.header.flags & 0xFFF0 == 0x8100 | UInt16(opcode.rawValue) << 11, "QR, RD and the opcode only")
        #expect(!response.header.checkingDisabled)
    }

    /// CD is not copied by any other error path either: FORMERR, BADVERS, REFUSED, NXDOMAIN.
    @Test func noErrorReplyCopiesCD() throws {
        let queries: [[UInt8]] = [
            DNSQuery("www.beacon.test.", .a, checkingDisabled: true, edns: EDNS(version: 1)).bytes,
            DNSQuery("www.elsewhere.org.", .a, checkingDisabled: true).bytes,
            DNSQuery("nothing.beacon.test.", .a, checkingDisabled: true).bytes,
            DNSQuery("www.beacon.test.", .a, checkingDisabled: true).bytes.settingUInt16(2, at: 4),
        ]
        for query in queries {
            #expect(try !decode(Self.server.respondBytes(query)).header.checkingDisabled)
        }
    }

    @Test func noQuestionGetsFORMERRWithTheOriginalID() throws {
        var header = Header(id: 0x7777)
        header.recursionDesired = true
        let bytes = try Message(header: header).encode()
        let response = try decode(Self.server.respondBytes(bytes))
        #expect(response.rcode == .formErr)
        #expect(response.header.id == 0x7777)
        #expect(response.header.recursionDesired)
        #expect(response.questions.isEmpty)
        // A QDCOUNT of 0 in front of a question that is there anyway.
        let patched = DNSQuery("www.beacon.test.", .a, id: 0x7778).bytes.settingUInt16(0, at: 4)
        #expect(try decode(Self.server.respondBytes(patched)).rcode == .formErr)
    }

    @Test func twoQuestionsGetFORMERRWithTheOriginalID() throws {
        let message = Message(
            header: Header(id: 0x2222),
            questions: [
                Question(name: dnsName("www.beacon.test."), type: .a),
                Question(name: dnsName("mail.beacon.test."), type: .a),
            ])
        let response = try decode(Self.server.respondBytes(try message.encode()))
        #expect(response.rcode == .formErr)
        #expect(response.header.id == 0x2222)
        #expect(response.answers.isEmpty)
    }

    @Test func aCompressionPointerInTheQuestionGetsFORMERR() throws {
        // "www" then a pointer back to offset 12 (itself a legal backward target): the first name of
        // a message has nothing before it to point at but the header.
        var bytes: [UInt8] = [0x99, 0x01, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        bytes += [3, UInt8(ascii: "w"), UInt8(ascii: "w"), UInt8(ascii: "w"), 0xC0, 0x0C, 0, 1, 0, 1]
        let response = try decode(Self.server.respondBytes(bytes))
        #expect(response.rcode == .formErr)
        #expect(response.header.id == 0x9901)
        // A pointer as the whole name.
        let bare: [UInt8] = [0x99, 0x02, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x00, 0, 1, 0, 1]
        #expect(try decode(Self.server.respondBytes(bare)).rcode == .formErr)
    }

    @Test func aTruncatedQuestionGetsFORMERR() throws {
        let query = DNSQuery("www.beacon.test.", .a, id: 0x3333).bytes
        for length in [Header.size + 1, Header.size + 5, query.count - 1] {
            let response = try decode(Self.server.respondBytes(Array(query.prefix(length))))
            #expect(response.rcode == .formErr, "\(length) bytes")
            #expect(response.header.id == 0x3333)
        }
    }

    @Test func aQuestionForTypeOPTGetsFORMERR() throws {
        let response = try #require(Self.server.ask("www.beacon.test.", .opt))
        #expect(response.rcode == .formErr)
    }

    @Test func transferQueriesAreRefused() throws {
        for type in [RRType.axfr, .ixfr] {
            let response = try #require(Self.server.ask("beacon.test.", type, transport: .tcp))
            #expect(response.rcode == .refused)
        }
    }

    @Test func forwardingTakesNamesOutsideTheZonesOnly() {
        let responder = Responder(
            resolver: Resolver(zones: Zones.all, dynamic: DynamicNames(apex: dnsName("local."), maxTTL: 30)),
            forwarding: true)
        let leases = Registrations.table()
        func outcome(_ name: String) -> Responder.Outcome {
            var writer = WireWriter()
            return DNSQuery(name, .a).bytes.withUnsafeBytes {
                responder.respond(to: $0, transport: .udp, leases: leases, now: askedAt, into: &writer)
            }
        }
        #expect(outcome("www.elsewhere.org.") == .forward)
        #expect(outcome("www.beacon.test.") == .send)
        #expect(outcome("nothing.local.") == .send)
    }
}
