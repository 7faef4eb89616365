import DNSWire
import Testing

/// The TSIG record (RFC 8945 §4.2) both ways, against the bytes Knot 3.2 sends for the same error.
@Suite struct TSIGTests {
    /// Knot 3.2.6's BADKEY record in its reply to a query signed by the unknown key `nokey.` with
    /// hmac-sha256, Time Signed 1000000000, fudge 100 and Original ID 0x5678, in a message of ID 0x1234.
    static let knotBadKey = hex(
        """
        05 6e6f6b6579 00            # owner: the key name, uncompressed
        00fa 00ff 00000000 001d     # TSIG, class ANY, TTL 0, RDLENGTH 29
        0b 686d61632d736861323536 00  # algorithm hmac-sha256.
        0000 3b9aca00               # Time Signed: the request's, 48 bits
        012c                        # Fudge 300, the server's own
        0000                        # MAC Size 0: unsigned (section 5.3.2)
        1234                        # Original ID: the reply's message ID
        0011                        # Error 17: BADKEY
        0000                        # Other Len 0
        """)

    static let request = TSIG(
        keyName: name("nokey."), algorithm: name("hmac-sha256."), timeSigned: 1_000_000_000, fudge: 100,
        mac: [UInt8](repeating: 0x11, count: 32), originalID: 0x5678)

    @Test func theUnsignedBADKEYErrorEncodesAsKnotSendsIt() throws {
        let reply = Self.request.unsignedError(TSIG.badKey, responseID: 0x1234)
        var writer = WireWriter()
        writer.writeName(reply.record.name, compress: false)
        writer.writeUInt16(RRType.tsig.rawValue)
        writer.writeUInt16(RRClass.any.rawValue)
        writer.writeUInt32(0)
        try writer.writeRData(reply.record.rdata)
        #expect(hexString(writer.bytes) == hexString(Self.knotBadKey))
    }

    @Test func aTSIGRecordReadsBackToItsFields() throws {
        var writer = WireWriter()
        try writer.writeRecord(Self.request.record)
        let read = try withWireReader(writer.bytes) { (reader: inout WireReader) throws(WireError) in try reader.readTSIG() }
        #expect(read == Self.request)
        let knot = try withWireReader(Self.knotBadKey) { (reader: inout WireReader) throws(WireError) in
            try reader.readTSIG()
        }
        #expect(knot == Self.request.unsignedError(17, responseID: 0x1234))
        #expect(knot.fudge == 300 && knot.mac.isEmpty && knot.timeSigned == 1_000_000_000)
    }

    @Test func aTSIGWhoseRDLENGTHDisagreesIsRejected() {
        var bytes = Self.knotBadKey
        bytes[16] = 0x1e  // RDLENGTH 30 for 29 bytes of RDATA
        #expect(throws: WireError.self) {
            try withWireReader(bytes + [0]) { (reader: inout WireReader) throws(WireError) in try reader.readTSIG() }
        }
        bytes[16] = 0x1c  // 28: the last field overruns
        #expect(throws: WireError.self) {
            try withWireReader(bytes) { (reader: inout WireReader) throws(WireError) in try reader.readTSIG() }
        }
    }

    @Test func theTypeAndRCodeHaveTheirMnemonics() {
        #expect(RRType.tsig.description == "TSIG")
        #expect(RRType(mnemonic: "tsig") == .tsig)
        #expect(RCode.notAuth.description == "NOTAUTH")
    }
}
