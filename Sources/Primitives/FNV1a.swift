/// FNV-1a, 64-bit: the one non-cryptographic hash of bytes the project uses (a worker for an etcd
/// key, a static answer's slot, a derived instance id). Small and fast; not for untrusted keys in a
/// table an attacker can fill (none of those is one).
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    @inlinable
    public static func hash(_ bytes: some Sequence<UInt8>, seed: UInt64 = offsetBasis) -> UInt64 {
        var hash = seed
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return hash
    }
}
