/// An IPv4 address, as in A RDATA (RFC 1035 §3.4.1).
package struct IPv4Address: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The address in host order (first octet in the top byte).
    package var value: UInt32

    package init(_ value: UInt32) { self.value = value }
    package init(integerLiteral value: UInt32) { self.value = value }
    package init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text: four decimal octets, no leading zeros beyond a single `0`.
    package init?(_ text: some StringProtocol) {
        var octets: [UInt32] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let octet = UInt32(part), octet <= 255
            else { return nil }
            octets.append(octet)
        }
        guard octets.count == 4 else { return nil }
        value = octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]
    }

    package var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value)]
    }

    package var isLoopback: Bool { value >> 24 == 127 }

    package var description: String { octets.map(String.init).joined(separator: ".") }
}

/// An IPv6 address, as in AAAA RDATA (RFC 3596 §2.2).
package struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    package var high: UInt64
    package var low: UInt64

    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    package init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16)
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    package var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// The eight 16-bit groups.
    package var groups: [UInt16] {
        let all = bytes
        return (0..<8).map { UInt16(all[2 * $0]) << 8 | UInt16(all[2 * $0 + 1]) }
    }

    /// Parses RFC 4291 §2.2 text: hex groups, one `::`, and an optional trailing dotted quad.
    package init?(_ text: some StringProtocol) {
        let string = String(text)
        guard !string.isEmpty, string.utf8.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var sawGap = false
        let halves = Self.splitAtDoubleColons(string)
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowV4Tail, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = IPv4Address(piece) else { return nil }
                    result.append(UInt16(v4.value >> 16))
                    result.append(UInt16(truncatingIfNeeded: v4.value))
                    continue
                }
                // Hex digits only: `UInt16(_:radix:)` alone would also take a sign ("+1", "-0").
                guard !piece.isEmpty, piece.count <= 4, piece.utf8.allSatisfy(Self.isHexDigit),
                    let group = UInt16(piece, radix: 16)
                else { return nil }
                result.append(group)
            }
            return result
        }
        if halves.count == 2 {
            sawGap = true
            guard let head = parseGroups(halves[0], allowV4Tail: false),
                let tail = parseGroups(halves[1], allowV4Tail: true)
            else { return nil }
            groups = head
            tailGroups = tail
            guard groups.count + tailGroups.count <= 7 else { return nil }
        } else {
            guard let all = parseGroups(string, allowV4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        if sawGap {
            groups += [UInt16](repeating: 0, count: 8 - groups.count - tailGroups.count) + tailGroups
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, group) in groups.enumerated() {
            if index < 4 { high = high << 16 | UInt64(group) } else { low = low << 16 | UInt64(group) }
        }
        self.init(high: high, low: low)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"):
            true
        default: false
        }
    }

    private static func splitAtDoubleColons(_ string: String) -> [String] {
        var parts: [String] = []
        var current: [UInt8] = []
        let bytes = Array(string.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: ":"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ":") {
                parts.append(String(decoding: current, as: UTF8.self))
                current = []
                index += 2
            } else {
                current.append(bytes[index])
                index += 1
            }
        }
        parts.append(String(decoding: current, as: UTF8.self))
        return parts
    }

    package var isLoopback: Bool { high == 0 && low == 1 }

    /// Whether this is an IPv4-mapped address, `::ffff:0:0/96` (RFC 4291 §2.5.5.2).
    package var isIPv4Mapped: Bool { high == 0 && low >> 32 == 0xFFFF }

    /// RFC 5952 text: lower-case hex, the first longest run of two or more zero groups as `::`
    /// (§4.2), and an IPv4-mapped address with its last 32 bits as a dotted quad (§5), as
    /// `inet_ntop` and `dig` print it.
    package var description: String {
        if isIPv4Mapped { return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: low)).description }
        let groups = self.groups
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8, groups[end] == 0 { end += 1 }
                if end - index > bestLength, end - index >= 2 {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String { slice.map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(groups[...]) }
        return hex(groups[0..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }
}

/// Either kind of address: what an instance registers, what A and AAAA records carry, and the host
/// of a `SocketAddress`.
package enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    package init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    package var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}
