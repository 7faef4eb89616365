import PosixIO

/// Response rate limiting for UDP (`--rrl`), as Knot and BIND do it, to blunt reflection attacks.
///
/// Each source prefix (/24 for IPv4, /56 for IPv6, so one attacker cannot dodge by varying the low
/// bits) may receive `responsesPerSecond` responses per second. Past that, responses are dropped,
/// except that every `slip`-th one is sent truncated (TC set, no records): a real client retries
/// over TCP, where spoofed sources cannot follow. One limiter per UDP thread, a fixed table of
/// buckets (colliding prefixes share a bucket, which errs toward limiting), no allocation.
package final class ResponseRateLimiter {
    package enum Decision: Equatable {
        case allow
        case drop
        case slip
    }

    private let responsesPerSecond: UInt32
    private let slip: UInt32
    private static let bucketCount = 1 << 14
    private var keys: [UInt64]
    private var seconds: [UInt32]
    private var counts: [UInt32]

    package init(responsesPerSecond: Int, slip: Int = 2) {
        self.responsesPerSecond = UInt32(max(1, responsesPerSecond))
        self.slip = UInt32(max(0, slip))
        keys = Array(repeating: 0, count: Self.bucketCount)
        seconds = Array(repeating: 0, count: Self.bucketCount)
        counts = Array(repeating: 0, count: Self.bucketCount)
    }

    /// Counts one response to `prefix` in the whole second `second` and says what to do with it.
    package func decide(prefix: UInt64, second: UInt32) -> Decision {
        var mixed = prefix &* 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 29
        let bucket = Int(truncatingIfNeeded: mixed) & (Self.bucketCount - 1)
        if keys[bucket] != prefix || seconds[bucket] != second {
            keys[bucket] = prefix
            seconds[bucket] = second
            counts[bucket] = 0
        }
        counts[bucket] &+= 1
        let count = counts[bucket]
        guard count > responsesPerSecond else { return .allow }
        guard slip > 0, (count - responsesPerSecond) % slip == 0 else { return .drop }
        return .slip
    }

    /// The prefix key of a source address: /24 of IPv4, /56 of IPv6, tagged by family.
    package static func prefix(of address: SocketAddress) -> UInt64 {
        switch address {
        case .v4(let host, _): return 0x4_0000_0000 | UInt64(host >> 8)
        case .v6(let host, _, _):
            var key: UInt64 = 6
            for index in 0..<7 { key = key << 8 | UInt64(host[index]) }
            return key
        }
    }

    /// Cuts a response down to its header and question with TC set: the "slipped" reply.
    package static func truncate(_ response: UnsafeMutableRawBufferPointer, length: Int) -> Int {
        guard length >= 12 else { return length }
        var offset = 12
        while offset < length {
            let count = Int(response[offset])
            if count == 0 { break }
            guard count < 64 else { return 12 }
            offset += 1 + count
        }
        let end = min(length, offset + 5)
        response[2] |= 0x02
        for index in 6..<12 { response[index] = 0 }
        return end
    }
}
