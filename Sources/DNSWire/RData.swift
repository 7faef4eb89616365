import Primitives
/// SOA RDATA (RFC 1035 §3.3.13).
package struct SOA: Equatable, Hashable, Sendable {
    package var mname: DomainName
    package var rname: DomainName
    package var serial: UInt32
    package var refresh: UInt32
    package var retry: UInt32
    package var expire: UInt32
    /// RFC 2308 §4: the TTL of negative answers is min(SOA TTL, MINIMUM).
    package var minimum: UInt32

    package init(
        mname: DomainName, rname: DomainName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32,
        minimum: UInt32
    ) {
        self.mname = mname
        self.rname = rname
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// SRV RDATA (RFC 2782).
package struct SRV: Equatable, Hashable, Sendable {
    package var priority: UInt16
    package var weight: UInt16
    package var port: UInt16
    package var target: DomainName

    package init(priority: UInt16, weight: UInt16, port: UInt16, target: DomainName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// One EDNS option (RFC 6891 §6.1.2): code, then opaque data.
package struct EDNSOption: Equatable, Hashable, Sendable {
    package var code: UInt16
    package var data: [UInt8]

    package init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    /// RFC 7873 §4: DNS COOKIE.
    package static let cookieCode: UInt16 = 10
}

/// The RDATA of one record, decoded for the types Beacon knows and opaque for the rest (RFC 3597).
package enum RData: Equatable, Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(DomainName)
    case cname(DomainName)
    case ptr(DomainName)
    case soa(SOA)
    case mx(preference: UInt16, exchange: DomainName)
    /// One or more character-strings of at most 255 octets each (RFC 1035 §3.3.14); a string may be empty.
    case txt([[UInt8]])
    case srv(SRV)
    case opt([EDNSOption])
    /// RDATA kept as bytes: types Beacon does not model, and empty RDATA under CLASS ANY or NONE
    /// (RFC 2136 §2.4, §2.5). For the older types whose names a sender may compress (RFC 3597 §4,
    /// `RDataLayout`), the names are stored decompressed so the bytes stay valid anywhere.
    case unknown([UInt8])
}

extension WireReader {
    /// Reads the RDATA of a record of `type` whose RDLENGTH is `length`.
    ///
    /// - Throws: `truncated` when the RDATA runs past the message; `badRDataLength(type:at:)` (at
    ///   the RDATA's start) when RDLENGTH does not match what the type defines;
    ///   `badRDataContent(type:at:)` when a TXT string or an EDNS option overruns the RDATA.
    package mutating func readRData(type: RRType, length: Int) throws(WireError) -> RData {
        try withRData(length: length, type: type.rawValue) { (reader: inout WireReader) throws(WireError) -> RData in
            switch type {
            case .a:
                guard length == 4 else { throw .badRDataLength(type: type.rawValue, at: wireOffset(reader.offset)) }
                return .a(IPv4Address(try reader.readUInt32()))
            case .aaaa:
                guard length == 16 else {
                    throw .badRDataLength(type: type.rawValue, at: wireOffset(reader.offset))
                }
                let high = UInt64(try reader.readUInt32()) << 32 | UInt64(try reader.readUInt32())
                let low = UInt64(try reader.readUInt32()) << 32 | UInt64(try reader.readUInt32())
                return .aaaa(IPv6Address(high: high, low: low))
            case .ns: return .ns(try reader.readName())
            case .cname: return .cname(try reader.readName())
            case .ptr: return .ptr(try reader.readName())
            case .soa:
                return .soa(
                    SOA(
                        mname: try reader.readName(), rname: try reader.readName(), serial: try reader.readUInt32(),
                        refresh: try reader.readUInt32(), retry: try reader.readUInt32(),
                        expire: try reader.readUInt32(), minimum: try reader.readUInt32()))
            case .mx:
                return .mx(preference: try reader.readUInt16(), exchange: try reader.readName())
            case .txt:
                // RFC 1035 §3.3.14: "TXT-DATA: One or more <character-string>s."
                guard length > 0 else { throw .badRDataLength(type: type.rawValue, at: wireOffset(reader.offset)) }
                var strings: [[UInt8]] = []
                while !reader.isAtEnd {
                    let start = reader.offset
                    let count = Int(try reader.readUInt8())
                    guard reader.remaining >= count else {
                        throw .badRDataContent(type: type.rawValue, at: wireOffset(start))
                    }
                    strings.append(try reader.readBytes(count))
                }
                return .txt(strings)
            case .srv:
                // RFC 3597 §4: receivers SHOULD decompress the SRV target, though senders must not compress it.
                return .srv(
                    SRV(
                        priority: try reader.readUInt16(), weight: try reader.readUInt16(),
                        port: try reader.readUInt16(), target: try reader.readName()))
            case .opt:
                // RFC 6891 §6.1.2: {OPTION-CODE, OPTION-LENGTH, OPTION-DATA} repeated to the end.
                var options: [EDNSOption] = []
                while !reader.isAtEnd {
                    let start = reader.offset
                    guard reader.remaining >= 4 else {
                        throw .badRDataContent(type: type.rawValue, at: wireOffset(start))
                    }
                    let code = try reader.readUInt16()
                    let count = Int(try reader.readUInt16())
                    guard reader.remaining >= count else {
                        throw .badRDataContent(type: type.rawValue, at: wireOffset(start))
                    }
                    options.append(EDNSOption(code: code, data: try reader.readBytes(count)))
                }
                return .opt(options)
            default:
                if let layout = RDataLayout(type) { return .unknown(try reader.readDecompressing(layout)) }
                return .unknown(try reader.readBytes(length))
            }
        }
    }

    /// Reads RDATA laid out as `layout`, copying it with every name decompressed.
    fileprivate mutating func readDecompressing(_ layout: RDataLayout) throws(WireError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(remaining + 32)
        for field in layout.fields {
            switch field {
            case .fixed(let count): result.append(contentsOf: try readBytes(count))
            case .name: result.append(contentsOf: try readName().wire)
            case .characterString:
                let count = Int(try readUInt8())
                result.append(UInt8(count))
                result.append(contentsOf: try readBytes(count))
            case .rest: result.append(contentsOf: try readBytes(remaining))
            }
        }
        return result
    }
}

/// The field layout of the older RDATA types whose names may arrive compressed, which Beacon keeps
/// as `RData.unknown` bytes with those names decompressed.
///
/// RFC 3597 §4: "Receiving servers MUST decompress domain names in RRs of well-known type, and SHOULD
/// also decompress RRs of type RP, AFSDB, RT, SIG, PX, NXT, NAPTR, and SRV". Kept opaque, a pointer
/// inside such RDATA would point at the wrong bytes once the record is written into another message.
struct RDataLayout {
    enum Field {
        case fixed(Int)
        case name
        case characterString
        case rest
    }

    let fields: [Field]

    init?(_ type: RRType) {
        switch type.rawValue {
        // RFC 1035 §3.3: MD, MF, MB, MG, MR.
        case 3, 4, 7, 8, 9: fields = [.name]
        // RFC 1035 §3.3.7 MINFO, RFC 1183 §2.2 RP: two names.
        case 14, 17: fields = [.name, .name]
        // RFC 1183 §1 AFSDB, §3.3 RT: a 16-bit value and a name.
        case 18, 21: fields = [.fixed(2), .name]
        // RFC 2535 §4.1 SIG: 18 octets of fixed fields, the signer's name, the signature.
        case 24: fields = [.fixed(18), .name, .rest]
        // RFC 2163 §4 PX: preference, MAP822, MAPX400.
        case 26: fields = [.fixed(2), .name, .name]
        // RFC 2535 §5.2 NXT: next domain name, type bit map.
        case 30: fields = [.name, .rest]
        // RFC 3403 §4.1 NAPTR: order, preference, FLAGS, SERVICES, REGEXP, REPLACEMENT.
        case 35: fields = [.fixed(4), .characterString, .characterString, .characterString, .name]
        default: return nil
        }
    }
}

extension WireWriter {
    /// Writes RDLENGTH and RDATA.
    ///
    /// Names in NS, CNAME, PTR, SOA and MX RDATA may be compressed (RFC 3597 §4 lists them as
    /// well-known); the SRV target must not be (RFC 2782).
    /// - Throws: `messageTooLong` for a TXT string over 255 octets, an option or RDATA over 65535;
    ///   `badRDataLength` (at the RDATA's offset in the message) for TXT with no strings.
    package mutating func writeRData(_ rdata: RData) throws(WireError) {
        let slot = reserveLengthSlot()
        switch rdata {
        case .a(let address): writeUInt32(address.value)
        case .aaaa(let address):
            writeUInt32(UInt32(truncatingIfNeeded: address.high >> 32))
            writeUInt32(UInt32(truncatingIfNeeded: address.high))
            writeUInt32(UInt32(truncatingIfNeeded: address.low >> 32))
            writeUInt32(UInt32(truncatingIfNeeded: address.low))
        case .ns(let name), .cname(let name), .ptr(let name): writeName(name)
        case .soa(let soa):
            writeName(soa.mname)
            writeName(soa.rname)
            writeUInt32(soa.serial)
            writeUInt32(soa.refresh)
            writeUInt32(soa.retry)
            writeUInt32(soa.expire)
            writeUInt32(soa.minimum)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            writeName(exchange)
        case .txt(let strings):
            guard !strings.isEmpty else {
                throw .badRDataLength(type: RRType.txt.rawValue, at: wireOffset(count - messageStart))
            }
            for string in strings {
                guard string.count <= 255 else { throw .messageTooLong }
                writeUInt8(UInt8(string.count))
                writeBytes(string)
            }
        case .srv(let srv):
            writeUInt16(srv.priority)
            writeUInt16(srv.weight)
            writeUInt16(srv.port)
            writeName(srv.target, compress: false)
        case .opt(let options):
            for option in options {
                guard option.data.count <= 0xFFFF else { throw .messageTooLong }
                writeUInt16(option.code)
                writeUInt16(UInt16(option.data.count))
                writeBytes(option.data)
            }
        case .unknown(let bytes): writeBytes(bytes)
        }
        try fill(slot)
    }
}
