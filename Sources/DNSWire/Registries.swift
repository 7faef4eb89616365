// DNSWire: the DNS message format (RFC 1035, 3596, 2782, 6891), with no I/O.
//
// Conventions: decoding reads from a `WireReader`, a cursor over borrowed bytes that checks every
// length against what remains and throws `WireError` (a small enum carrying offsets, never a String).
// Encoding appends to a `WireWriter` the caller owns and reuses. Names are kept in uncompressed wire
// form and compare case-insensitively as ASCII bytes (RFC 4343).

/// A resource record TYPE (RFC 1035 §3.2.2). Unknown values decode, re-encode and print as `TYPEnnn` (RFC 3597 §5).
package struct RRType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt16
    package init(rawValue: UInt16) { self.rawValue = rawValue }
    package init(_ rawValue: UInt16) { self.rawValue = rawValue }

    package static let a = RRType(1)
    package static let ns = RRType(2)
    package static let cname = RRType(5)
    package static let soa = RRType(6)
    package static let ptr = RRType(12)
    package static let hinfo = RRType(13)
    package static let mx = RRType(15)
    package static let txt = RRType(16)
    package static let aaaa = RRType(28)
    package static let srv = RRType(33)
    package static let opt = RRType(41)
    /// RFC 8945 §4.2: transaction signatures, a meta-type that only appears in messages.
    package static let tsig = RRType(250)
    package static let ixfr = RRType(251)
    package static let axfr = RRType(252)
    package static let any = RRType(255)

    private static let mnemonics: [(RRType, String)] = [
        (.a, "A"), (.ns, "NS"), (.cname, "CNAME"), (.soa, "SOA"), (.ptr, "PTR"), (.hinfo, "HINFO"), (.mx, "MX"),
        (.txt, "TXT"), (.aaaa, "AAAA"), (.srv, "SRV"), (.opt, "OPT"), (.tsig, "TSIG"), (.ixfr, "IXFR"),
        (.axfr, "AXFR"), (.any, "ANY"),
    ]

    package var description: String {
        for (type, name) in Self.mnemonics where type == self { return name }
        return "TYPE\(rawValue)"
    }

    /// Parses a mnemonic (`SRV`, case-insensitive) or the generic `TYPEnnn` form of RFC 3597 §5.
    package init?(mnemonic: String) {
        let upper = mnemonic.uppercased()
        for (type, name) in Self.mnemonics where name == upper {
            self = type
            return
        }
        guard upper.hasPrefix("TYPE"), let value = UInt16(upper.dropFirst(4)) else { return nil }
        self.rawValue = value
    }

    /// Meta and query-only types (RFC 6895 §3.1) that may not appear as data in a zone.
    package var isQueryOnly: Bool { rawValue == 41 || (rawValue >= 128 && rawValue <= 255) }
}

/// A resource record CLASS (RFC 1035 §3.2.4).
package struct RRClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt16
    package init(rawValue: UInt16) { self.rawValue = rawValue }
    package init(_ rawValue: UInt16) { self.rawValue = rawValue }

    package static let `in` = RRClass(1)
    package static let ch = RRClass(3)
    package static let hs = RRClass(4)
    package static let none = RRClass(254)
    package static let any = RRClass(255)

    package var description: String {
        switch self {
        case .in: "IN"
        case .ch: "CH"
        case .hs: "HS"
        case .none: "NONE"
        case .any: "ANY"
        default: "CLASS\(rawValue)"
        }
    }

    package init?(mnemonic: String) {
        switch mnemonic.uppercased() {
        case "IN": self = .in
        case "CH": self = .ch
        case "HS": self = .hs
        case let other:
            guard other.hasPrefix("CLASS"), let value = UInt16(other.dropFirst(5)) else { return nil }
            self.rawValue = value
        }
    }
}

/// A response code: 4 bits in the header, extended to 12 by the OPT record (RFC 6891 §6.1.3).
package struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt16
    package init(rawValue: UInt16) { self.rawValue = rawValue }
    package init(_ rawValue: UInt16) { self.rawValue = rawValue }

    package static let noError = RCode(0)
    package static let formErr = RCode(1)
    package static let servFail = RCode(2)
    package static let nxDomain = RCode(3)
    package static let notImp = RCode(4)
    package static let refused = RCode(5)
    /// RFC 8945 §5.2: a request signed by a key the server does not recognize gets NOTAUTH.
    package static let notAuth = RCode(9)
    /// RFC 6891 §6.1.3: "BADVERS ... 16". Needs an OPT record to carry its upper bits.
    package static let badVers = RCode(16)

    package var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 9: "NOTAUTH"
        case 16: "BADVERS"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The header OPCODE (RFC 1035 §4.1.1).
package struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }
    package init(_ rawValue: UInt8) { self.rawValue = rawValue }

    package static let query = Opcode(0)
    package static let iquery = Opcode(1)
    package static let status = Opcode(2)
    package static let notify = Opcode(4)
    package static let update = Opcode(5)

    package var description: String {
        switch rawValue {
        case 0: "QUERY"
        case 1: "IQUERY"
        case 2: "STATUS"
        case 4: "NOTIFY"
        case 5: "UPDATE"
        default: "OPCODE\(rawValue)"
        }
    }
}
