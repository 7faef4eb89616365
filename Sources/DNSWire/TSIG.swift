/// The TSIG meta-record (RFC 8945 §4.2), as far as a server without keys needs it: read the one a
/// request carries, and answer with an unsigned error record.
///
/// RDATA: Algorithm Name, Time Signed (48 bits), Fudge, MAC Size, MAC, Original ID, Error, Other
/// Len, Other Data. The record's CLASS is ANY and its TTL 0 (§4.2).
package struct TSIG: Equatable, Sendable {
    /// RFC 8945 §5.2: TSIG error 17, BADKEY, "Key not recognized".
    package static let badKey: UInt16 = 17
    /// RFC 8945 §10 recommends a fudge of 300 seconds; Knot and BIND put their own 300 in every
    /// reply whatever the request said, and so does Beacon.
    package static let serverFudge: UInt16 = 300

    /// The record's owner: the name of the key.
    package var keyName: DomainName
    package var algorithm: DomainName
    /// Seconds since the epoch, 48 bits.
    package var timeSigned: UInt64
    package var fudge: UInt16
    package var mac: [UInt8]
    package var originalID: UInt16
    package var error: UInt16
    package var otherData: [UInt8]

    package init(
        keyName: DomainName, algorithm: DomainName, timeSigned: UInt64, fudge: UInt16 = TSIG.serverFudge,
        mac: [UInt8] = [], originalID: UInt16, error: UInt16 = 0, otherData: [UInt8] = []
    ) {
        self.keyName = keyName
        self.algorithm = algorithm
        self.timeSigned = timeSigned
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }

    /// The unsigned error a server that does not hold the request's key answers with (RFC 8945
    /// §5.2.1: BADKEY, "unsigned as specified in Section 5.3.2": MAC Size 0 and an empty MAC).
    /// Time Signed is the request's, as Knot sends it, so that the reply needs no clock.
    /// - Parameter responseID: the reply's message ID, which Original ID repeats.
    package func unsignedError(_ error: UInt16, responseID: UInt16) -> TSIG {
        TSIG(keyName: keyName, algorithm: algorithm, timeSigned: timeSigned, originalID: responseID, error: error)
    }

    /// RDATA in wire form; the algorithm name is never compressed (RFC 8945 §4.2 defines it in
    /// "domain name syntax" for the MAC computation, and RFC 3597 §4 forbids compression in new types).
    package var rdata: [UInt8] {
        var bytes = algorithm.wire
        bytes += [UInt8(truncatingIfNeeded: timeSigned >> 40), UInt8(truncatingIfNeeded: timeSigned >> 32)]
        bytes += [
            UInt8(truncatingIfNeeded: timeSigned >> 24), UInt8(truncatingIfNeeded: timeSigned >> 16),
            UInt8(truncatingIfNeeded: timeSigned >> 8), UInt8(truncatingIfNeeded: timeSigned),
        ]
        for value in [fudge, UInt16(truncatingIfNeeded: mac.count)] { bytes += Self.bigEndian(value) }
        bytes += mac
        for value in [originalID, error, UInt16(truncatingIfNeeded: otherData.count)] { bytes += Self.bigEndian(value) }
        return bytes + otherData
    }

    /// The whole record, for a message's additional section (where it must come last, §5.1).
    package var record: ResourceRecord {
        ResourceRecord(name: keyName, type: .tsig, rrClass: .any, ttl: 0, rdata: .unknown(rdata))
    }

    private static func bigEndian(_ value: UInt16) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}

extension WireReader {
    /// Reads a TSIG record at the current offset (its TYPE already known to be TSIG).
    /// - Throws: `badRDataLength` when the fields do not fill RDLENGTH exactly, or any name error.
    package mutating func readTSIG() throws(WireError) -> TSIG {
        let keyName = try readName()
        try skip(8)  // TYPE, CLASS, TTL
        let length = Int(try readUInt16())
        return try withRData(length: length, type: RRType.tsig.rawValue) { (reader: inout WireReader) throws(WireError) in
            let algorithm = try reader.readName()
            let timeSigned = UInt64(try reader.readUInt16()) << 32 | UInt64(try reader.readUInt32())
            let fudge = try reader.readUInt16()
            let mac = try reader.readBytes(Int(try reader.readUInt16()))
            let originalID = try reader.readUInt16()
            let error = try reader.readUInt16()
            let otherData = try reader.readBytes(Int(try reader.readUInt16()))
            return TSIG(
                keyName: keyName, algorithm: algorithm, timeSigned: timeSigned, fudge: fudge, mac: mac,
                originalID: originalID, error: error, otherData: otherData)
        }
    }
}
