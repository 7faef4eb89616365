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
    /// One or more character-strings of at most 255 octets each.
    case txt([[UInt8]])
    case srv(SRV)
    case opt([EDNSOption])
    case unknown([UInt8])
}

extension WireReader {
    /// Reads the RDATA of a record of `type` whose RDLENGTH is `length`.
    package mutating func readRData(type: RRType, length: Int) throws(WireError) -> RData {
        try withRData(length: length, type: type.rawValue) { (reader: inout WireReader) throws(WireError) -> RData in
            switch type {
            case .a:
                guard length == 4 else { throw .badRDataLength(type: type.rawValue, at: reader.offset) }
                return .a(IPv4Address(try reader.readUInt32()))
            case .aaaa:
                guard length == 16 else { throw .badRDataLength(type: type.rawValue, at: reader.offset) }
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
                var strings: [[UInt8]] = []
                while !reader.isAtEnd {
                    let count = Int(try reader.readUInt8())
                    guard reader.remaining >= count else {
                        throw .badRDataContent(type: type.rawValue, at: reader.offset - 1)
                    }
                    strings.append(try reader.readBytes(count))
                }
                return .txt(strings)
            case .srv:
                return .srv(
                    SRV(
                        priority: try reader.readUInt16(), weight: try reader.readUInt16(),
                        port: try reader.readUInt16(), target: try reader.readName()))
            case .opt:
                var options: [EDNSOption] = []
                while !reader.isAtEnd {
                    let code = try reader.readUInt16()
                    let count = Int(try reader.readUInt16())
                    guard reader.remaining >= count else {
                        throw .badRDataContent(type: type.rawValue, at: reader.offset - 4)
                    }
                    options.append(EDNSOption(code: code, data: try reader.readBytes(count)))
                }
                return .opt(options)
            default:
                return .unknown(try reader.readBytes(length))
            }
        }
    }
}

extension WireWriter {
    /// Writes RDLENGTH and RDATA.
    ///
    /// Names in NS, CNAME, PTR, SOA and MX RDATA may be compressed (RFC 3597 §4 lists them as
    /// well-known); the SRV target must not be (RFC 2782).
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
