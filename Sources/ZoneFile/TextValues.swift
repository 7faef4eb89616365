import Primitives
import DNSWire

/// Reading the scalar fields of master files from bytes: numbers, TTLs with units, IPv4 addresses,
/// character-strings, hex, and type and class mnemonics. Each returns nil (or a failure case) on bad
/// input and never traps; callers turn that into a located `ZoneFileError`.
enum TextValues {
    // MARK: - Numbers

    /// A plain decimal number of at most `maximum`, or nil (empty, a non-digit, or too large).
    ///
    /// `maximum` is at most 2^32 here, so the value cannot overflow before the check stops it.
    static func decimal(_ text: ArraySlice<UInt8>, maximum: UInt64) -> UInt64? {
        guard !text.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard byte.isDigit else { return nil }
            value = value * 10 + UInt64(byte - .zero)
            guard value <= maximum else { return nil }
        }
        return value
    }

    /// RFC 2181 §8: "a TTL ... is an unsigned number, with a minimum value of 0, and a maximum value
    /// of 2147483647".
    static let maxTTL: UInt64 = 2_147_483_647

    enum Duration: Equatable {
        case seconds(UInt64)
        case malformed
        case tooLarge
    }

    /// A TTL or SOA timer: plain seconds (`3600`), or BIND's units (`1h30m`, `2d`, `1w`, any case),
    /// where every number is followed by one of `s m h d w`.
    static func duration(_ text: ArraySlice<UInt8>, maximum: UInt64) -> Duration {
        guard let first = text.first, first.isDigit else { return .malformed }
        var total: UInt64 = 0
        var number: UInt64 = 0
        var digits = 0
        var sawUnit = false
        for byte in text {
            if byte.isDigit {
                // Beyond 2^32 seconds the value is out of range whatever follows; stop growing it.
                number = min(number * 10 + UInt64(byte - .zero), 1 << 40)
                digits += 1
                continue
            }
            let scale: UInt64
            switch byte.asciiUppercased {
            case UInt8(ascii: "S"): scale = 1
            case UInt8(ascii: "M"): scale = 60
            case UInt8(ascii: "H"): scale = 3600
            case UInt8(ascii: "D"): scale = 86400
            case UInt8(ascii: "W"): scale = 604_800
            default: return .malformed
            }
            guard digits > 0 else { return .malformed }
            total = min(total + number * scale, 1 << 60)
            number = 0
            digits = 0
            sawUnit = true
        }
        if digits > 0 {
            // A bare number is allowed only as the whole text.
            guard !sawUnit else { return .malformed }
            total = number
        }
        return total <= maximum ? .seconds(total) : .tooLarge
    }

    // MARK: - Addresses

    /// Dotted-quad IPv4 text, with the rules of `IPv4Address(_:)` (no leading zeros), from bytes.
    static func ipv4(_ text: ArraySlice<UInt8>) -> IPv4Address? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in text {
            if byte.isDigit {
                guard digits < 3, digits == 0 || octet != 0 else { return nil }
                octet = octet * 10 + UInt32(byte - .zero)
                digits += 1
            } else if byte == UInt8(ascii: ".") {
                guard digits > 0, octet <= 255, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else {
                return nil
            }
        }
        guard digits > 0, octet <= 255, dots == 3 else { return nil }
        return IPv4Address(value << 8 | octet)
    }

    static func ipv6(_ text: ArraySlice<UInt8>) -> IPv6Address? {
        guard text.count <= 45 else { return nil }
        return IPv6Address(String(decoding: text, as: UTF8.self))
    }

    // MARK: - Character-strings and hex

    /// A character-string with its escapes decoded (RFC 1035 §5.1): `\X` is X, `\DDD` the octet DDD.
    ///
    /// - Returns: the bytes, or nil for a `\` at the end or `\DDD` that is not three digits ≤ 255.
    static func characterString(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.contains(.backslash) else { return Array(text) }
        var result: [UInt8] = []
        result.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            index += 1
            guard byte == .backslash else {
                result.append(byte)
                continue
            }
            guard index < text.endIndex else { return nil }
            guard text[index].isDigit else {
                result.append(text[index])
                index += 1
                continue
            }
            guard text.endIndex - index >= 3,
                let value = decimal(text[index..<index + 3], maximum: 255)
            else { return nil }
            result.append(UInt8(value))
            index += 3
        }
        return result
    }

    /// Appends the octets of an even number of hex digits, or returns false.
    static func appendHex(_ text: ArraySlice<UInt8>, to bytes: inout [UInt8]) -> Bool {
        guard text.count % 2 == 0 else { return false }
        var index = text.startIndex
        while index < text.endIndex {
            guard let high = hexDigit(text[index]), let low = hexDigit(text[index + 1]) else { return false }
            bytes.append(high << 4 | low)
            index += 2
        }
        return true
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: - Mnemonics

    /// Up to seven bytes upper-cased into one integer with the length on top, so that looking up a
    /// mnemonic allocates nothing. Nil for longer text.
    private static func key(_ text: some Collection<UInt8>) -> UInt64? {
        guard text.count <= 7 else { return nil }
        var key = UInt64(text.count) << 56
        for (shift, byte) in text.enumerated() { key |= UInt64(byte.asciiUppercased) << (8 * UInt64(shift)) }
        return key
    }

    private static let types: [UInt64: RRType] = {
        let known: [RRType] = [.a, .ns, .cname, .soa, .ptr, .hinfo, .mx, .txt, .aaaa, .srv, .opt, .ixfr, .axfr, .any]
        var table: [UInt64: RRType] = [:]
        for type in known {
            if let key = key(type.description.utf8) { table[key] = type }
        }
        return table
    }()

    /// A type mnemonic (any case) or RFC 3597 `TYPEnnn`, or nil.
    static func type(_ text: ArraySlice<UInt8>) -> RRType? {
        if let key = key(text), let type = types[key] { return type }
        if hasPrefix("TYPE", text) { return numberAfterPrefix("TYPE", in: text).map(RRType.init(_:)) }
        // Mnemonics DNSWire knows beyond the table above.
        guard text.count <= 16 else { return nil }
        return RRType(mnemonic: String(decoding: text, as: UTF8.self))
    }

    /// `IN`, `CH`, `HS` (any case) or RFC 3597 `CLASSnnn`, or nil.
    static func rrClass(_ text: ArraySlice<UInt8>) -> RRClass? {
        if text.count == 2 {
            switch (text[text.startIndex].asciiUppercased, text[text.startIndex + 1].asciiUppercased) {
            case (UInt8(ascii: "I"), UInt8(ascii: "N")): return .in
            case (UInt8(ascii: "C"), UInt8(ascii: "H")): return .ch
            case (UInt8(ascii: "H"), UInt8(ascii: "S")): return .hs
            default: return nil
            }
        }
        return numberAfterPrefix("CLASS", in: text).map(RRClass.init(_:))
    }

    /// The 16-bit decimal number after `prefix` (matched in any case), as in `TYPE65280`.
    private static func numberAfterPrefix(_ prefix: StaticString, in text: ArraySlice<UInt8>) -> UInt16? {
        guard hasPrefix(prefix, text) else { return nil }
        return decimal(text.dropFirst(prefix.utf8CodeUnitCount), maximum: 65535).map { UInt16($0) }
    }

    /// Whether `text` starts with the upper-case ASCII `prefix`, in any case.
    private static func hasPrefix(_ prefix: StaticString, _ text: ArraySlice<UInt8>) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard text.count >= count else { return false }
        let head = UnsafeBufferPointer(start: prefix.utf8Start, count: count)
        for (offset, byte) in head.enumerated() where text[text.startIndex + offset].asciiUppercased != byte {
            return false
        }
        return true
    }
}
