import DNSWire

/// RDATA in presentation format for the types Beacon serves, and RFC 3597 generic RDATA for any type.
extension Fields {
    /// Reads the RDATA of a record of `type` from the remaining tokens (the caller checks for leftovers).
    ///
    /// - Parameters:
    ///   - typeToken: where the type was written, to name it in `genericSyntaxRequired`.
    ///   - origin: what relative names in the RDATA are relative to.
    mutating func rdata(type: RRType, typeToken: Token, origin: DomainName?) throws(ZoneFileError) -> RData {
        if let first = peek(), !first.quoted, text(first).elementsEqual(Self.genericMarker) {
            return try genericRData(type: type)
        }
        switch type {
        case .a:
            let token = try next("A address")
            guard !token.quoted, let address = TextValues.ipv4(text(token)) else {
                throw error(.badField("A address"), at: token)
            }
            return .a(address)
        case .aaaa:
            let token = try next("AAAA address")
            guard !token.quoted, let address = TextValues.ipv6(text(token)) else {
                throw error(.badField("AAAA address"), at: token)
            }
            return .aaaa(address)
        case .ns: return .ns(try name("NS name", origin: origin))
        case .cname: return .cname(try name("CNAME target", origin: origin))
        case .ptr: return .ptr(try name("PTR name", origin: origin))
        case .mx:
            let preference = try uint16("MX preference")
            return .mx(preference: preference, exchange: try name("MX exchange", origin: origin))
        case .txt:
            // RFC 1035 §3.3.14: "One or more <character-string>s".
            var strings = [try characterString(try next("TXT string"))]
            while let token = peek() {
                strings.append(try characterString(token))
                _ = try next("TXT string")
            }
            return .txt(strings)
        case .srv:
            // RFC 2782: "Priority Weight Port Target", each number 0-65535.
            let priority = try uint16("SRV priority")
            let weight = try uint16("SRV weight")
            let port = try uint16("SRV port")
            let target = try name("SRV target", origin: origin)
            return .srv(SRV(priority: priority, weight: weight, port: port, target: target))
        case .soa:
            // RFC 1035 §3.3.13; the timers take BIND's units like TTLs, within 32 bits.
            let mname = try name("SOA mname", origin: origin)
            let rname = try name("SOA rname", origin: origin)
            let serial = try uint32("SOA serial")
            let refresh = try duration("SOA refresh", maximum: UInt64(UInt32.max))
            let retry = try duration("SOA retry", maximum: UInt64(UInt32.max))
            let expire = try duration("SOA expire", maximum: UInt64(UInt32.max))
            let minimum = try duration("SOA minimum", maximum: UInt64(UInt32.max))
            return .soa(
                SOA(
                    mname: mname, rname: rname, serial: serial, refresh: refresh, retry: retry, expire: expire,
                    minimum: minimum))
        case .hinfo:
            // RFC 1035 §3.3.2: CPU and OS character-strings. DNSWire keeps HINFO opaque.
            var wire: [UInt8] = []
            for field in ["HINFO cpu", "HINFO os"] {
                let string = try characterString(try next(field))
                wire.append(UInt8(string.count))
                wire.append(contentsOf: string)
            }
            return .unknown(wire)
        default:
            throw error(.genericSyntaxRequired, at: typeToken)
        }
    }

    /// `\#`, the RFC 3597 §5 marker of generic RDATA.
    static let genericMarker: [UInt8] = [.backslash, UInt8(ascii: "#")]

    /// RFC 3597 §5: `\# length hex...`, "zero or more words of hexadecimal data ... each containing an
    /// even number of hexadecimal digits". Known types decode to their own `RData` case.
    private mutating func genericRData(type: RRType) throws(ZoneFileError) -> RData {
        let marker = try next("\\#")
        let lengthToken = try next("\\# RDATA length")
        guard !lengthToken.quoted, let length = TextValues.decimal(text(lengthToken), maximum: 65535) else {
            throw error(.badField("\\# RDATA length"), at: lengthToken)
        }
        var data: [UInt8] = []
        data.reserveCapacity(Int(length))
        while let token = peek() {
            guard !token.quoted, data.count + token.count / 2 <= Int(length),
                TextValues.appendHex(text(token), to: &data)
            else { throw error(.badField("\\# RDATA hex (\(length) octets declared)"), at: token) }
            _ = try next("\\# RDATA hex")
        }
        guard data.count == Int(length) else {
            throw error(.badField("\\# RDATA length (\(data.count) octets of hex follow)"), at: lengthToken)
        }
        guard Self.hasDecoder(type) else { return .unknown(data) }
        let decoded: RData
        do {
            decoded = try withWireReader(data) { (reader: inout WireReader) throws(WireError) -> RData in
                try reader.readRData(type: type, length: data.count)
            }
        } catch {
            throw self.error(.badField("\\# RDATA for \(type)"), at: marker)
        }
        // A compression pointer has nothing to point into here; a shorter decoded form means one was used.
        guard Self.uncompressedLength(decoded) == data.count, decoded != .txt([]) else {
            throw self.error(.badField("\\# RDATA for \(type)"), at: marker)
        }
        return decoded
    }

    /// Types whose RDATA DNSWire decodes into a case of its own (everything else stays opaque).
    private static func hasDecoder(_ type: RRType) -> Bool {
        switch type {
        case .a, .aaaa, .ns, .cname, .ptr, .soa, .mx, .txt, .srv: true
        default: false
        }
    }

    private static func uncompressedLength(_ rdata: RData) -> Int {
        switch rdata {
        case .a: 4
        case .aaaa: 16
        case .ns(let name), .cname(let name), .ptr(let name): name.wire.count
        case .soa(let soa): soa.mname.wire.count + soa.rname.wire.count + 20
        case .mx(_, let exchange): 2 + exchange.wire.count
        case .txt(let strings): strings.reduce(0) { $0 + 1 + $1.count }
        case .srv(let srv): 6 + srv.target.wire.count
        case .opt(let options): options.reduce(0) { $0 + 4 + $1.data.count }
        case .unknown(let bytes): bytes.count
        }
    }
}
