import Authority
import DNSWire
import Leases
import TestSupport
import Testing

/// Signed queries (RFC 8945). Beacon holds no keys, so it recognizes none: a signed query gets
/// NOTAUTH with an unsigned TSIG record carrying BADKEY (§5.2.1); a TSIG anywhere but last in the
/// additional section is FORMERR (§5.1). Before the fix a signed query was answered as if unsigned.
@Suite struct TSIGQueryTests {
    static let server = Server()

    static let signature = TSIG(
        keyName: dnsName("transfer-key."), algorithm: dnsName("hmac-sha256."), timeSigned: 1_700_000_000,
        fudge: 100, mac: [UInt8](repeating: 0xAB, count: 32), originalID: 0x1111)

    /// The TSIG of a response, read from its bytes: it must be the last record.
    static func lastTSIG(_ bytes: [UInt8]) throws -> TSIG? {
        let message = try Message.decode(bytes)
        guard message.additionals.last?.type == .tsig else { return nil }
        // Re-encode the last record alone and read it as TSIG.
        var writer = WireWriter()
        try writer.writeRecord(try #require(message.additionals.last))
        return try withWireReader(writer.bytes) { (reader: inout WireReader) throws(WireError) in try reader.readTSIG() }
    }

    @Test(arguments: [Responder.Transport.udp, .tcp], [false, true])
    func rfc8945ASignedQueryGetsNOTAUTHWithAnUnsignedBADKEY(transport: Responder.Transport, edns: Bool) throws {
        for name in ["www.beacon.test.", "create.orders.local.", "www.elsewhere.org."] {
            let query = DNSQuery(
                name, .a, id: 0x4B4B, edns: edns ? EDNS(flags: 0x8000) : nil, extraAdditionals: [Self.signature.record])
            let bytes = try #require(Self.server.respondBytes(query.bytes, transport: transport))
            let response = try Message.decode(bytes)
            #expect(response.rcode == .notAuth, "\(name)")
            #expect(response.header.id == 0x4B4B)
            #expect(response.header.recursionDesired)
            #expect(!response.header.authoritative)
            #expect(response.answers.isEmpty && response.authorities.isEmpty)
            #expect(Array(bytes[Header.size..<query.questionEnd]) == Array(query.bytes[Header.size..<query.questionEnd]))
            #expect(response.additionals.map(\.type) == (edns ? [.opt, .tsig] : [.tsig]))
            if edns { #expect(response.edns == EDNS(flags: 0x8000)) }
            let tsig = try #require(try Self.lastTSIG(bytes))
            #expect(tsig == Self.signature.unsignedError(TSIG.badKey, responseID: 0x4B4B))
            #expect(tsig.error == 17 && tsig.mac.isEmpty && tsig.fudge == 300 && tsig.timeSigned == 1_700_000_000)
        }
    }

    @Test func aSignedQueryExposesNoInstance() throws {
        let server = Server()
        _ = server.respondBytes(DNSQuery("c1.create.orders.local.", .a, extraAdditionals: [Self.signature.record]).bytes)
        for instance in server.leases.allInstances { #expect(instance.exposedUntil == .zero, "\(instance.id)") }
    }

    @Test func rfc8945ATSIGThatIsNotLastInTheAdditionalSectionGetsFORMERR() throws {
        let tsig = Self.signature.record
        let misplaced: [(String, Message)] = [
            ("before the OPT", Self.message(additionals: [tsig, EDNS().record])),
            ("twice", Self.message(additionals: [tsig, tsig])),
            ("in the answer section", Self.message(answers: [tsig])),
            ("in the authority section", Self.message(authorities: [tsig], additionals: [EDNS().record])),
        ]
        for (label, message) in misplaced {
            let response = try Message.decode(try #require(Self.server.respondBytes(try message.encode())))
            #expect(response.rcode == .formErr, "\(label)")
            #expect(response.header.id == 0x2B2B, "\(label)")
            #expect(response.answers.isEmpty, "\(label)")
            #expect(!response.additionals.contains { $0.type == .tsig }, "\(label)")
        }
    }

    @Test func aTSIGWhoseRDATADoesNotParseGetsFORMERR() throws {
        var broken = Self.signature.record
        broken.rdata = .unknown([3, 0x61, 0x62])  // an algorithm name cut short, nothing after it
        let response = try Message.decode(try #require(Self.server.respondBytes(Self.message(additionals: [broken]).bytesOrEmpty)))
        #expect(response.rcode == .formErr)
    }

    @Test func theFastPathLeavesSignedQueriesToTheReferenceResponder() throws {
        let scratch = QueryScratch()
        let query = DNSQuery("www.beacon.test.", .a, extraAdditionals: [Self.signature.record]).bytes
        #expect(!query.withUnsafeBytes { scratch.scan($0) })
    }

    static func message(
        answers: [ResourceRecord] = [], authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = []
    ) -> Message {
        Message(
            header: Header(id: 0x2B2B, flags: 0x0100), questions: [Question(name: dnsName("www.beacon.test."), type: .a)],
            answers: answers, authorities: authorities, additionals: additionals)
    }
}

extension Message {
    fileprivate var bytesOrEmpty: [UInt8] { (try? encode()) ?? [] }
}
