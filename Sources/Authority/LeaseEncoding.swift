import DNSWire
import Leases

// How registrations appear in DNS: the table (Leases) holds plain values; this module decides
// their encoding.

extension IPAddressValue {
    /// The A or AAAA RDATA of this address.
    package var rdata: RData {
        switch self {
        case .v4(let value): .a(IPv4Address(value))
        case .v6(let high, let low): .aaaa(IPv6Address(high: high, low: low))
        }
    }

    package var rrType: RRType {
        switch self {
        case .v4: .a
        case .v6: .aaaa
        }
    }
}

extension MetaEntry {
    /// The TXT character-string this entry is published as: `key=value`.
    package var txtString: [UInt8] { Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) }
}
