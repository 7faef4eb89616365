import Primitives
import DNSWire
import Leases

// How registrations appear in DNS: the table (Leases) holds plain values; this module decides
// their encoding.

extension IPAddress {
    /// The A or AAAA RDATA of this address.
    package var rdata: RData {
        switch self {
        case .v4(let address): .a(address)
        case .v6(let address): .aaaa(address)
        }
    }
}

extension MetaEntry {
    /// The TXT character-string this entry is published as: `key=value`.
    package var txtString: [UInt8] { Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) }
}
