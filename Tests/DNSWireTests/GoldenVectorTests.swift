import Primitives
import DNSWire
import Testing

@Suite("Golden vectors: decode and encode agree with hand-derived bytes")
struct GoldenVectorTests {
    @Test("decoding the bytes gives the value", arguments: GoldenVectors.all)
    func decodingGivesTheValue(_ vector: GoldenVector) throws {
        let decoded = try Message.decode(vector.bytes)
        #expect(decoded == vector.message)
    }

    @Test("encoding the value gives the bytes", arguments: GoldenVectors.all)
    func encodingGivesTheBytes(_ vector: GoldenVector) throws {
        let encoded = try vector.message.encode()
        #expect(hexString(encoded) == hexString(vector.bytes))
    }

    @Test func headerFlagAccessorsReadEachBit() throws {
        let all = try Message.decode(hex("ffff 87f3 0000 0000 0000 0000")).header
        #expect(all.isResponse && all.authoritative && all.truncated && all.recursionDesired)
        #expect(all.recursionAvailable && all.authenticData && all.checkingDisabled)
        #expect(all.opcode == .query && all.rcodeLow == 3)
        #expect(all.flags & 0x0040 != 0, "the Z bit survives decoding")

        let query = try Message.decode(GoldenVectors.all[0].bytes).header
        #expect(!query.isResponse && query.recursionDesired && !query.authoritative && query.rcodeLow == 0)

        var built = Header(id: 0xFFFF)
        built.isResponse = true
        built.authoritative = true
        built.truncated = true
        built.recursionDesired = true
        built.recursionAvailable = true
        built.authenticData = true
        built.checkingDisabled = true
        built.rcodeLow = 3
        #expect(built.flags == 0x87B3, "every accessor sets exactly its bit (Z excluded)")
        built.opcode = .update
        #expect(built.flags == 0xAFB3 && built.opcode == .update)
    }

    @Test func notifyOpcodeIsReadFromBits11To14() throws {
        let message = try Message.decode(GoldenVectors.all[2].bytes)
        #expect(message.header.opcode == .notify)
        #expect(message.header.authoritative)
    }

    @Test func answerOwnerIsAPointerToTheQuestionName() throws {
        let bytes = try GoldenVectors.all[3].message.encode()
        // Header 12 + question 21 (17-octet name, type, class): the answer starts at 33.
        #expect(Array(bytes[33..<35]) == [0xC0, 0x0C])
    }

    @Test func rdataNameIsAPointerAfterItsFirstLabel() throws {
        let bytes = try GoldenVectors.all[5].message.encode()
        // First NS record at 29: owner(2) type(2) class(2) TTL(4) RDLENGTH(2), RDATA at 41.
        #expect(Array(bytes[41..<47]) == [3, 0x6E, 0x73, 0x31, 0xC0, 0x0C])
    }

    @Test func rfc2782SRVTargetIsNotCompressed() throws {
        // The target equals a suffix already in the message and would shrink to one pointer.
        let owner = name("_sip._tcp.example.com.")
        let message = Message(
            header: Header(id: 1, flags: 0x8400), questions: [Question(name: owner, type: .srv)],
            answers: [
                ResourceRecord(
                    name: owner, type: .srv, ttl: 60,
                    rdata: .srv(SRV(priority: 0, weight: 0, port: 443, target: name("example.com."))))
            ])
        let bytes = try message.encode()
        let rdata = Array(bytes.suffix(6 + 13))
        #expect(Array(rdata.suffix(13)) == wire("example.com."), "target written in full")
        #expect(!rdata.contains { $0 & 0xC0 == 0xC0 }, "no compression pointer in SRV RDATA")
        #expect(try Message.decode(bytes) == message)
    }

    @Test func rfc3597CompressedSRVTargetFromALenientSenderStillDecodes() throws {
        // RFC 3597 §4: receivers SHOULD decompress SRV targets even though senders must not compress them.
        let bytes = hex(
            """
            0001 8400 0001 0001 0000 0000
            04 5f736970 04 5f746370 07 6578616d706c65 03 636f6d 00 0021 0001
            c00c 0021 0001 0000003c 0008 0000 0000 01bb c016   # target: pointer to example.com at 22
            """)
        let message = try Message.decode(bytes)
        #expect(message.answers.first?.rdata == .srv(SRV(priority: 0, weight: 0, port: 443, target: example)))
        let reencoded = try message.encode()
        #expect(reencoded.count == bytes.count + 11, "re-encoded with the target in full")
    }

    @Test func rfc1035Section414CompressionExampleDecodes() throws {
        // RFC 1035 §4.1.4: F.ISI.ARPA at 20, FOO.F.ISI.ARPA at 40 as FOO + pointer to 20, ARPA at 64 as a
        // pointer to 26, and the root at 92.
        var bytes = [UInt8](repeating: 0, count: 93)
        bytes.replaceSubrange(20..<32, with: hex("01 46 03 495349 04 41525041 00"))
        bytes.replaceSubrange(40..<46, with: hex("03 464f4f c014"))
        bytes.replaceSubrange(64..<66, with: hex("c01a"))
        bytes[92] = 0
        let names = try bytes.withUnsafeBytes { raw in
            try [20, 40, 64, 92].map { offset in
                var reader = WireReader(raw, offset: offset)
                return try reader.readName()
            }
        }
        #expect(names.map(\.description) == ["F.ISI.ARPA.", "FOO.F.ISI.ARPA.", "ARPA.", "."])
    }

    @Test func compressionIgnoresCaseAndTheFirstSpellingWins() throws {
        // RFC 4343: names compare case-insensitively, so the answer owner may point at the
        // question's spelling (a 0x20-randomised query keeps its case in the question).
        let asked = name("wWw.ExAmPlE.cOm.")
        let message = Message(
            header: Header(id: 1, flags: 0x8400), questions: [Question(name: asked, type: .a)],
            answers: [ResourceRecord(name: www, type: .a, ttl: 60, rdata: .a(IPv4Address(192, 0, 2, 1)))])
        let bytes = try message.encode()
        #expect(Array(bytes[33..<35]) == [0xC0, 0x0C])
        let decoded = try Message.decode(bytes)
        #expect(decoded == message)
        #expect(decoded.questions[0].name.isIdentical(to: asked))
        #expect(decoded.answers[0].name.isIdentical(to: asked), "the pointer carries the question's spelling")
    }

    @Test func compressionRemembersOnlyTheFirst32Suffixes() throws {
        // The question fills entries 1-2 (example.com at 12, com at 20); owners n0 ... n29 fill
        // entries 3-32, one each, and n30 onward are not remembered.
        var answers = (0..<40).map { index in
            ResourceRecord(
                name: name("n\(index).example.com."), type: .a, ttl: 60, rdata: .a(IPv4Address(UInt32(index))))
        }
        answers.append(ResourceRecord(name: name("n29.example.com."), type: .a, ttl: 60, rdata: .a(IPv4Address(1))))
        answers.append(ResourceRecord(name: name("n30.example.com."), type: .a, ttl: 60, rdata: .a(IPv4Address(2))))
        let message = Message(header: Header(id: 1), questions: [Question(name: example, type: .a)], answers: answers)
        let bytes = try message.encode()

        // Answers start at 29; n0 ... n9 take 19 octets (label 3, pointer 2, fixed 10, RDATA 4),
        // n10 and on 20, so the 32nd entry, n29, sits at 29 + 10 x 19 + 19 x 20 = 599 (0x257).
        let repeatedN30 = Array(bytes.suffix(6 + 10 + 4))
        let repeatedN29 = Array(bytes.dropLast(repeatedN30.count).suffix(2 + 10 + 4))
        #expect(Array(repeatedN29.prefix(2)) == [0xC2, 0x57], "n29, the 32nd entry, is one pointer")
        #expect(Array(repeatedN30.prefix(6)) == [3, 0x6E, 0x33, 0x30, 0xC0, 0x0C], "n30 is a label and a pointer")
        #expect(try Message.decode(bytes) == message)
    }

    @Test func compressionOffsetsCountFromTheMessageNotTheTCPPrefix() throws {
        let message = GoldenVectors.all.last { $0.label.hasPrefix("pointers") }!.message
        var writer = WireWriter()
        let prefix = writer.reserveLengthSlot()
        try message.encode(into: &writer)
        try writer.fill(prefix)
        let plain = try message.encode()
        #expect(Array(writer.bytes.dropFirst(2)) == plain)
        #expect(Array(writer.bytes.prefix(2)) == [UInt8(plain.count >> 8), UInt8(plain.count & 0xFF)])
        #expect(writer.messageStart == 2)
    }

    @Test func optRecordExposesPayloadSizeDOAndCookie() throws {
        let message = try Message.decode(GoldenVectors.all[12].bytes)
        let edns = try #require(message.edns)
        #expect(edns.udpPayloadSize == 1232 && edns.dnssecOK && edns.version == 0)
        #expect(edns.options == [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])
        #expect(message.rcode == .noError)
    }

    @Test func rfc6891ExtendedRCodeCombinesHeaderAndOPTBits() throws {
        let message = try Message.decode(GoldenVectors.all[13].bytes)
        #expect(message.header.rcodeLow == 0)
        #expect(message.rcode == .badVers)
        #expect(message.rcode.description == "BADVERS")
    }

    @Test func unknownTypePrintsInRFC3597GenericForm() throws {
        let record = try Message.decode(GoldenVectors.all[14].bytes).answers[0]
        #expect(record.type.description == "TYPE65280")
        #expect(record.rdata.presentation == "\\# 4 DEADBEEF")
        #expect(RRType(mnemonic: "TYPE65280") == record.type)
    }

    @Test func rfc3597WellKnownTypeNamesAreStoredDecompressed() throws {
        // MG (RFC 1035 §3.3.6) is a well-known type whose name senders may compress; RFC 3597 §4:
        // receivers "MUST decompress". Kept as raw bytes, c010 would point elsewhere once re-encoded.
        let bytes = hex(
            """
            0001 8400 0001 0001 0000 0000
            03 6d6730 07 6578616d706c65 00 0008 0001   # mg0.example MG IN; example at 16
            c00c 0008 0001 00000e10 0007 04 6d676d74 c010   # mgmt + pointer to 16
            """)
        let message = try Message.decode(bytes)
        #expect(message.answers[0].rdata == .unknown(wire("mgmt.example.")))
        let moved = Message(header: message.header, answers: message.answers)
        #expect(try Message.decode(try moved.encode()) == moved, "still valid without the question to point at")
    }

    @Test func rfc3597MINFOAndPXDecompressEveryName() throws {
        let bytes = hex(
            """
            0001 8400 0001 0002 0000 0000
            07 6578616d706c65 00 000e 0001                 # example MINFO IN (at 12)
            c00c 000e 0001 00000e10 0010 05 726d61696c c00c 05 656d61696c c00c   # rmail, email
            c00c 001a 0001 00000e10 000c 000a 03 6d6170 c00c 01 78 c00c          # PX 10 map x
            """)
        let message = try Message.decode(bytes)
        #expect(message.answers[0].rdata == .unknown(wire("rmail.example.") + wire("email.example.")))
        #expect(message.answers[1].rdata == .unknown([0, 10] + wire("map.example.") + wire("x.example.")))
    }

    @Test func encodingTXTWithoutStringsIsRefused() {
        let message = Message(answers: [ResourceRecord(name: example, type: .txt, ttl: 0, rdata: .txt([]))])
        // Header 12, owner 13, type/class/TTL 8, RDLENGTH 2: RDATA would start at 35.
        #expect(throws: WireError.badRDataLength(type: 16, at: 35)) { try message.encode() }
    }

    @Test func encodingATXTStringOver255OctetsIsRefused() {
        let long = [UInt8](repeating: 0x61, count: 256)
        let message = Message(answers: [ResourceRecord(name: example, type: .txt, ttl: 0, rdata: .txt([long]))])
        #expect(throws: WireError.messageTooLong) { try message.encode() }
    }

    @Test func encodingMoreThan65535OctetsIsRefused() {
        let big = [UInt8](repeating: 0, count: 65000)
        let message = Message(answers: [
            ResourceRecord(name: example, type: RRType(65280), ttl: 0, rdata: .unknown(big)),
            ResourceRecord(name: example, type: RRType(65280), ttl: 0, rdata: .unknown(big)),
        ])
        #expect(throws: WireError.messageTooLong) { try message.encode() }
    }
}

/// Name compression across many uncompressed names (SRV targets, RFC 2782): each one remembers only
/// what the table did not know, so a later owner equal to any of them is one pointer.
@Suite struct CompressionTableTests {
    @Test func ownersAfterManyUncompressedTargetsAreStillPointers() throws {
        var writer = WireWriter()
        writer.writeName(name("create.orders.local."))
        var targetOffsets: [Int] = []
        for index in 1...28 {
            targetOffsets.append(writer.count)
            writer.writeName(name("web-\(index).create.orders.local."), compress: false)
        }
        for (index, offset) in targetOffsets.enumerated() {
            let before = writer.count
            writer.writeName(name("web-\(index + 1).create.orders.local."))
            #expect(writer.count - before == 2, "web-\(index + 1): \(writer.count - before) bytes")
            #expect(Array(writer.bytes[before...]) == [0xC0 | UInt8(offset >> 8), UInt8(offset & 0xFF)])
        }
    }

    @Test func anUncompressedNameIsWrittenWholeEvenWhenItsSuffixIsKnown() {
        var writer = WireWriter()
        writer.writeName(name("orders.local."))
        let start = writer.count
        writer.writeName(name("web-1.orders.local."), compress: false)
        #expect(Array(writer.bytes[start...]) == name("web-1.orders.local.").wire)
    }
}
