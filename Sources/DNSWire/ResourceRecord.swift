import Primitives
/// One resource record (RFC 1035 §4.1.3).
///
/// For OPT (RFC 6891 §6.1.2) the CLASS field is the requestor's UDP payload size and the TTL field
/// holds the extended RCODE, version and flags; `EDNS` reads them.
package struct ResourceRecord: Equatable, Hashable, Sendable, CustomStringConvertible {
    package var name: DomainName
    package var type: RRType
    package var rrClass: RRClass
    package var ttl: UInt32
    package var rdata: RData

    package init(name: DomainName, type: RRType, rrClass: RRClass = .in, ttl: UInt32, rdata: RData) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdata = rdata
    }

    package var description: String { "\(name)\t\(ttl)\t\(rrClass)\t\(type)\t\(rdata.presentation)" }
}

extension WireReader {
    package mutating func readRecord() throws(WireError) -> ResourceRecord {
        let name = try readName()
        let type = RRType(try readUInt16())
        let rrClass = RRClass(try readUInt16())
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let rdata: RData
        if length == 0, rrClass == .any || rrClass == .none, type != .opt {
            // RFC 2136 §2.4.1, §2.4.3, §2.5.2, §2.5.3: UPDATE prerequisites and deletions carry
            // CLASS ANY or NONE with "RDLENGTH ... zero (0)", whatever the TYPE's RDATA would be.
            rdata = .unknown([])
        } else {
            rdata = try readRData(type: type, length: length)
        }
        return ResourceRecord(name: name, type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
    }

    /// Skips one record, checking its name and that its RDATA fits.
    package mutating func skipRecord() throws(WireError) {
        try skipName()
        try skip(8)
        let length = Int(try readUInt16())
        try skip(length)
    }
}

extension WireWriter {
    package mutating func writeRecord(_ record: ResourceRecord) throws(WireError) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.rrClass.rawValue)
        writeUInt32(record.ttl)
        try writeRData(record.rdata)
    }
}

extension RData {
    /// RDATA in presentation format, as `dig` prints it.
    package var presentation: String {
        switch self {
        case .a(let address): return address.description
        case .aaaa(let address): return address.description
        case .ns(let name), .cname(let name), .ptr(let name): return name.description
        case .soa(let soa):
            return "\(soa.mname) \(soa.rname) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .mx(let preference, let exchange): return "\(preference) \(exchange)"
        case .txt(let strings): return strings.map(Self.quoted).joined(separator: " ")
        case .srv(let srv): return "\(srv.priority) \(srv.weight) \(srv.port) \(srv.target)"
        case .opt(let options): return options.map { "\($0.code):\(Self.hex($0.data))" }.joined(separator: " ")
        case .unknown(let bytes): return "\\# \(bytes.count)" + (bytes.isEmpty ? "" : " " + Self.hex(bytes))
        }
    }

    /// A character-string in quotes with `"` and `\` escaped and non-printables as `\DDD`.
    package static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                text.append("\\")
                text.append(Character(Unicode.Scalar(byte)))
            case 0x20...0x7E: text.append(Character(Unicode.Scalar(byte)))
            default:
                let digits = String(byte)
                text.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
            }
        }
        return text + "\""
    }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text
    }
}
