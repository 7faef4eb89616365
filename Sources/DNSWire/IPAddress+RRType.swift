import Primitives

extension IPAddress {
    /// The record type that carries the address: A or AAAA.
    package var rrType: RRType {
        switch self {
        case .v4: .a
        case .v6: .aaaa
        }
    }
}
