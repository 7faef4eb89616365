import DNSWire
import Testing

/// Bytes for one question with the given name bytes, type A, class IN.
private func question(_ nameBytes: [UInt8]) -> [UInt8] { nameBytes + [0, 1, 0, 1] }

/// One answer at offset 12 (no question): root owner, the given type and class, TTL 0, and RDATA
/// starting at offset 23. `rdlength` defaults to the RDATA's size; `after` follows the record.
private func singleRecord(
    type: UInt16, rrClass: UInt16 = 1, rdlength: Int? = nil, rdata: [UInt8], after: [UInt8] = []
) -> [UInt8] {
    let length = rdlength ?? rdata.count
    return header(an: 1) + [0, UInt8(type >> 8), UInt8(type & 0xFF), UInt8(rrClass >> 8), UInt8(rrClass & 0xFF)]
        + [0, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF)] + rdata + after
}

/// A name of labels of the given lengths, each filled with `a`.
private func labels(_ lengths: [Int]) -> [UInt8] {
    lengths.flatMap { [UInt8($0)] + [UInt8](repeating: 0x61, count: $0) } + [0]
}

/// Record 1 (at 12) holds, as opaque RDATA from offset 23, a root label and a chain of 127 pointers
/// each pointing at the one before; record 2's owner is a pointer to chain link `top`. Reading
/// that owner takes `top + 2` hops.
private func pointerChain(top: Int) -> [UInt8] {
    var rdata: [UInt8] = [0]
    for link in 0..<127 {
        let target = link == 0 ? 23 : 24 + 2 * (link - 1)
        rdata += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
    }
    let topOffset = 24 + 2 * top
    return header(an: 2) + [0, 0xFF, 0x00, 0, 1, 0, 0, 0, 0, 0, UInt8(rdata.count)] + rdata
        + [0xC0 | UInt8(topOffset >> 8), UInt8(topOffset & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1]
}

@Suite("Malformed messages are rejected as values, with the offset at fault")
struct MalformedMessageTests {
    // MARK: - Compression pointers

    @Test func selfPointerIsALoop() {
        #expect(decodeError(header(qd: 1) + question([0xC0, 0x0C])) == .pointerLoop(at: 12))
    }

    @Test func nameRunningIntoThePointerThatLedToItIsALoop() {
        // "a" at 12, then a pointer at 14 back to 12: a.a.a.a... without the end-of-name check.
        #expect(decodeError(header(qd: 1) + question([1, 0x61, 0xC0, 0x0C])) == .pointerLoop(at: 14))
    }

    @Test func twoPointerCycleEnteredThroughItsBackwardPointerIsALoop() {
        // Record 1's opaque RDATA at 23 is a pointer to 25; record 2's owner at 25 is a pointer to 23.
        let bytes =
            header(an: 2) + hex("00 ff00 0001 00000000 0002 c019")
            + hex("c017 0001 0001 00000000 0004 c0000201")
        #expect(decodeError(bytes) == .pointerLoop(at: 25))
    }

    @Test func twoPointerCycleEnteredThroughItsForwardPointerIsAForwardPointer() {
        // The same cycle, but record 1 is an NS whose RDATA name starts at the forward pointer.
        let bytes =
            header(an: 2) + hex("00 0002 0001 00000000 0002 c019")
            + hex("c017 0001 0001 00000000 0004 c0000201")
        #expect(decodeError(bytes) == .forwardPointer(at: 23))
    }

    @Test func forwardPointerIsRejected() {
        #expect(decodeError(header(qd: 1) + question([0xC0, 0x0E])) == .forwardPointer(at: 12))
    }

    @Test func pointerPastTheEndOfTheMessageIsAForwardPointer() {
        #expect(decodeError(header(qd: 1) + question([0xC0, 0xFF])) == .forwardPointer(at: 12))
        #expect(decodeError(header(qd: 1) + question([0xFF, 0xFF])) == .forwardPointer(at: 12))
    }

    @Test func pointerMissingItsSecondOctetOverrunsRDLENGTH() {
        // An NS whose one-octet RDATA is half a pointer: the name overruns RDLENGTH.
        #expect(decodeError(singleRecord(type: 2, rdata: [0xC0], after: [0x0C])) == .badRDataLength(type: 2, at: 23))
    }

    @Test func chainOf126PointerHopsIsAccepted() throws {
        #expect(WireReader.maxPointerHops == 126)
        let message = try Message.decode(pointerChain(top: 124))
        #expect(message.answers[1].name == .root)
    }

    @Test func the127thPointerHopIsALoop() {
        // Hop 1 is record 2's owner, hop 2 chain link 125, ..., hop 127 link 0 at offset 24.
        #expect(decodeError(pointerChain(top: 125)) == .pointerLoop(at: 24))
    }

    @Test func pointerWhereCompressionIsNotAllowedIsUnexpected() {
        let bytes = hex("03 777777 c000")
        let error = bytes.withUnsafeBytes { raw -> WireError? in
            var reader = WireReader(raw)
            do throws(WireError) {
                _ = try reader.readName(allowCompression: false)
                return nil
            } catch {
                return error
            }
        }
        #expect(error == .unexpectedPointer(at: 4))
    }

    // MARK: - Labels and names

    @Test func labelType0x40IsReserved() {
        #expect(decodeError(header(qd: 1) + question([0x40, 0x61, 0])) == .reservedLabelType(at: 12))
    }

    @Test func labelType0x80IsReserved() {
        #expect(decodeError(header(qd: 1) + question([0x80, 0x61, 0])) == .reservedLabelType(at: 12))
    }

    @Test func labelLengthAbove63IsAReservedLabelType() {
        // 64 is 0x40 and 127 is 0x7f: the top bits make them label types, not lengths (RFC 1035 §4.1.4).
        let sixtyFour = [62] + [UInt8](repeating: 0x61, count: 62) + [64] + [UInt8](repeating: 0x61, count: 64) + [0]
        #expect(decodeError(header(qd: 1) + question(sixtyFour)) == .reservedLabelType(at: 75))
        #expect(decodeError(header(qd: 1) + question(labels([127]))) == .reservedLabelType(at: 12))
    }

    @Test func labelOf63OctetsIsAccepted() throws {
        let message = try Message.decode(header(qd: 1) + question(labels([63])))
        #expect(message.questions[0].name.wire == labels([63]))
    }

    @Test func nameOfExactly255OctetsIsAccepted() throws {
        let longest = labels([63, 63, 63, 61])
        #expect(longest.count == 255)
        let message = try Message.decode(header(qd: 1) + question(longest))
        #expect(message.questions[0].name.wire == longest)
    }

    @Test func nameOf256OctetsIsTooLong() {
        #expect(decodeError(header(qd: 1) + question(labels([63, 63, 63, 62]))) == .nameTooLong(at: 12))
    }

    @Test func nameOf255OctetsThroughAPointerIsAccepted() throws {
        let first = labels([63, 63, 63, 59])
        let message = try Message.decode(header(qd: 2) + question(first) + question([1, 0x62, 0xC0, 0x0C]))
        #expect(message.questions[1].name.wire.count == 255)
    }

    @Test func nameGrowingPast255OctetsThroughAPointerIsTooLong() {
        // The second name starts at 12 + 255 + 4 = 271.
        let bytes = header(qd: 2) + question(labels([63, 63, 63, 61])) + question([1, 0x62, 0xC0, 0x0C])
        #expect(decodeError(bytes) == .nameTooLong(at: 271))
    }

    // MARK: - Truncation

    @Test func emptyInputIsTruncatedAtZero() {
        #expect(decodeError([]) == .truncated(at: 0))
    }

    @Test func elevenOctetHeaderIsTruncatedAtARCOUNT() {
        #expect(decodeError(Array(header(ar: 1).prefix(11))) == .truncated(at: 10))
    }

    @Test func questionCutInItsClassIsTruncated() {
        // www. at 12-16, QTYPE at 17, QCLASS at 19 with one octet left.
        #expect(decodeError(header(qd: 1) + hex("03 777777 00 0001 00")) == .truncated(at: 19))
    }

    @Test func recordCutInItsTTLIsTruncated() {
        // Owner at 12-16, TYPE at 17, CLASS at 19, TTL at 21 with three octets left.
        #expect(decodeError(header(an: 1) + hex("03 777777 00 0001 0001 000000")) == .truncated(at: 21))
    }

    @Test func rdataShorterThanRDLENGTHIsTruncated() {
        #expect(decodeError(singleRecord(type: 1, rdlength: 4, rdata: [192, 0])) == .truncated(at: 23))
    }

    @Test func impossibleQuestionCountIsRejectedBeforeReading() {
        // 65535 questions need at least 5 octets each.
        #expect(decodeError(header(qd: 0xFFFF) + question(labels([3]))) == .truncated(at: 12))
    }

    @Test func impossibleRecordCountsAreRejectedBeforeReading() {
        let bytes = header(an: 0xFFFF, ns: 0xFFFF, ar: 0xFFFF) + [UInt8](repeating: 0, count: 100)
        #expect(decodeError(bytes) == .truncated(at: 12))
    }

    @Test func countsOneRecordShortOfTheBytesAreRejected() {
        // Two 15-octet answers present, three counted: 3 x 11 minimum = 33 > 30 remaining.
        let record = hex("00 0001 0001 00000000 0004 c0000201")
        #expect(decodeError(header(an: 3) + record + record) == .truncated(at: 12))
        #expect(throws: Never.self) { try Message.decode(header(an: 2) + record + record) }
    }

    @Test func bytesAfterTheLastCountedRecordAreIgnored() throws {
        let query = GoldenVectors.all[0]
        #expect(try Message.decode(query.bytes + [0xDE, 0xAD, 0xBE]) == query.message)
    }

    // MARK: - RDLENGTH against the type

    @Test func aRecordOfFiveOctetsHasABadLength() {
        #expect(decodeError(singleRecord(type: 1, rdata: [192, 0, 2, 1, 0])) == .badRDataLength(type: 1, at: 23))
    }

    @Test func aRecordOfThreeOctetsHasABadLength() {
        #expect(decodeError(singleRecord(type: 1, rdata: [192, 0, 2])) == .badRDataLength(type: 1, at: 23))
    }

    @Test func emptyARecordInClassINHasABadLength() {
        #expect(decodeError(singleRecord(type: 1, rdata: [])) == .badRDataLength(type: 1, at: 23))
    }

    @Test func rfc2136EmptyRDataIsAcceptedOnlyUnderClassANYOrNONE() throws {
        let none = try Message.decode(singleRecord(type: 2, rrClass: 254, rdata: []))
        #expect(none.answers[0].rdata == .unknown([]))
        let any = try Message.decode(singleRecord(type: 33, rrClass: 255, rdata: []))
        #expect(any.answers[0].rdata == .unknown([]))
        #expect(decodeError(singleRecord(type: 2, rdata: [])) == .badRDataLength(type: 2, at: 23))
    }

    @Test func aaaaRecordOfFourOctetsHasABadLength() {
        #expect(decodeError(singleRecord(type: 28, rdata: [192, 0, 2, 1])) == .badRDataLength(type: 28, at: 23))
    }

    @Test func srvShorterThanItsFixedFieldsHasABadLength() {
        #expect(
            decodeError(singleRecord(type: 33, rdata: hex("000a 003c 13"), after: hex("c4 00")))
                == .badRDataLength(type: 33, at: 23))
    }

    @Test func srvTargetRunningPastRDLENGTHHasABadLength() {
        #expect(
            decodeError(singleRecord(type: 33, rdata: hex("000a 003c 13c4 03"), after: hex("736970 00")))
                == .badRDataLength(type: 33, at: 23))
    }

    @Test func srvWithAnOctetAfterItsTargetHasABadLength() {
        #expect(
            decodeError(singleRecord(type: 33, rdata: hex("000a 003c 13c4 00 ff")))
                == .badRDataLength(type: 33, at: 23))
    }

    @Test func soaMissingAnOctetOfMINIMUMHasABadLength() {
        let counters = [UInt8](repeating: 0, count: 20)
        #expect(
            decodeError(singleRecord(type: 6, rdlength: 21, rdata: [0, 0] + counters))
                == .badRDataLength(type: 6, at: 23))
    }

    @Test func soaWithAnOctetAfterMINIMUMHasABadLength() {
        let counters = [UInt8](repeating: 0, count: 21)
        #expect(decodeError(singleRecord(type: 6, rdata: [0, 0] + counters)) == .badRDataLength(type: 6, at: 23))
    }

    @Test func cnameTargetRunningPastRDLENGTHHasABadLength() {
        #expect(
            decodeError(singleRecord(type: 5, rdlength: 3, rdata: hex("03 777777 00")))
                == .badRDataLength(type: 5, at: 23))
    }

    @Test func minfoMissingItsSecondNameHasABadLength() {
        #expect(decodeError(singleRecord(type: 14, rdata: [0])) == .badRDataLength(type: 14, at: 23))
    }

    // MARK: - RDATA content

    @Test func txtStringOverrunningRDATAIsBadContent() {
        #expect(decodeError(singleRecord(type: 16, rdata: hex("05 6162"))) == .badRDataContent(type: 16, at: 23))
    }

    @Test func secondTXTStringOverrunningRDATAIsBadContentAtItsLengthOctet() {
        #expect(
            decodeError(singleRecord(type: 16, rdata: hex("01 61 05 6263"))) == .badRDataContent(type: 16, at: 25))
    }

    @Test func rfc1035TXTWithNoStringsHasABadLength() {
        // RFC 1035 §3.3.14: "TXT-DATA: One or more <character-string>s."
        #expect(decodeError(singleRecord(type: 16, rdata: [])) == .badRDataLength(type: 16, at: 23))
    }

    @Test func optOptionOverrunningRDATAIsBadContent() {
        let bytes = header(ar: 1) + hex("00 0029 04d0 00000000 0008 000a 0008 01020304")
        #expect(decodeError(bytes) == .badRDataContent(type: 41, at: 23))
    }

    @Test func optOptionHeaderCutShortIsBadContent() {
        let bytes = header(ar: 1) + hex("00 0029 04d0 00000000 0006 000a 0000 000b")
        #expect(decodeError(bytes) == .badRDataContent(type: 41, at: 27))
    }

    // MARK: - Skipping

    @Test func skipNameAppliesTheSamePointerAndLabelChecks() {
        func skipError(_ bytes: [UInt8], at offset: Int) -> WireError? {
            bytes.withUnsafeBytes { raw -> WireError? in
                var reader = WireReader(raw, offset: offset)
                do throws(WireError) {
                    try reader.skipName()
                    return nil
                } catch {
                    return error
                }
            }
        }
        #expect(skipError(hex("00 c001"), at: 1) == .pointerLoop(at: 1))
        #expect(skipError(hex("c002 00"), at: 0) == .forwardPointer(at: 0))
        #expect(skipError(hex("01 61 80"), at: 0) == .reservedLabelType(at: 2))
        #expect(skipError(hex("03 6161"), at: 0) == .truncated(at: 0))
        #expect(skipError(labels([63, 63, 63, 62]), at: 0) == .nameTooLong(at: 0))
        #expect(skipError(hex("00 01 61 c000"), at: 1) == nil)
    }

    @Test func errorOffsetIsReadableWithoutMatching() {
        #expect(WireError.badRDataLength(type: 1, at: 23).offset == 23)
        #expect(WireError.pointerLoop(at: 14).offset == 14)
        #expect(WireError.messageTooLong.offset == nil)
    }
}
