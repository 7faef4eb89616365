import Primitives
import PosixIO
import Synchronization

/// Response rate limiting for UDP (`--rrl`), as Knot and BIND do it, to blunt reflection attacks.
///
/// Each source prefix (/24 for IPv4, /56 for IPv6, so one attacker cannot dodge by varying the low
/// bits) may receive `responsesPerSecond` responses per second. Past that, responses are dropped,
/// except that every `slip`-th one is sent truncated (TC set, no records): a real client retries
/// over TCP, where spoofed sources cannot follow.
///
/// One limiter serves every UDP thread of a listener: with one per thread, a source spreading its
/// queries over many ports (so over every SO_REUSEPORT socket) got the rate once per thread. The
/// table is a fixed array of 64-bit atomics, one per bucket, updated with compare-and-swap: no lock,
/// no allocation, and threads touch the same cache line only when they count the same prefix.
/// Colliding prefixes take turns owning a bucket (each owner change restarts the count), as the
/// per-thread table did.
package final class ResponseRateLimiter: @unchecked Sendable {
    // `buckets` is written only through atomics; the pointer itself never changes.
    package enum Decision: Equatable {
        case allow
        case drop
        case slip
    }

    private let responsesPerSecond: UInt64
    private let slip: UInt64
    private static let bucketCount = 1 << 14
    /// Each bucket packs the owning prefix's tag, the second it counts, and the count so far.
    private let buckets: UnsafeMutablePointer<Atomic<UInt64>>

    package init(responsesPerSecond: Int, slip: Int = 2) {
        self.responsesPerSecond = UInt64(max(1, responsesPerSecond))
        self.slip = UInt64(max(0, slip))
        buckets = .allocate(capacity: Self.bucketCount)
        for index in 0..<Self.bucketCount { (buckets + index).initialize(to: Atomic(0)) }
    }

    deinit {
        buckets.deinitialize(count: Self.bucketCount)
        buckets.deallocate()
    }

    /// Counts one response to `prefix` in the whole second `second` and says what to do with it.
    package func decide(prefix: UInt64, second: UInt32) -> Decision {
        var mixed = prefix &* 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 29
        let bucket = Int(truncatingIfNeeded: mixed) & (Self.bucketCount - 1)
        // Tag and second identify whose count a bucket holds; 24 bits of tag from other bits of the
        // hash than the index, 16 of the second (a bucket untouched for exactly 18 hours could be
        // taken for current: a few extra drops, once).
        let owner = (mixed >> 40) << 40 | UInt64(second & 0xFFFF) << 24
        var current = buckets[bucket].load(ordering: .relaxed)
        var count: UInt64
        while true {
            let sameOwner = current & ~Self.countMask == owner
            count = sameOwner ? min((current & Self.countMask) + 1, Self.countMask) : 1
            let (exchanged, original) = buckets[bucket].compareExchange(
                expected: current, desired: owner | count, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        guard count > responsesPerSecond else { return .allow }
        guard slip > 0, (count - responsesPerSecond) % slip == 0 else { return .drop }
        return .slip
    }

    private static let countMask: UInt64 = (1 << 24) - 1

    /// The prefix key of a source address: /24 of IPv4, /56 of IPv6, tagged by family.
    package static func prefix(of address: SocketAddress) -> UInt64 {
        switch address {
        case .v4(let host, _): return 0x4_0000_0000 | UInt64(host.value >> 8)
        case .v6(let host, _, _): return 6 << 56 | host.high >> 8
        }
    }

    /// The "slipped" reply: the response's header and question with TC set and no records, written
    /// into `response` from the query itself, so a limited response costs no lookup. An OPT in the
    /// query is answered with a bare one (RFC 6891 §7), advertising `advertisedPayload`.
    /// - Returns: the length, or 0 when the query is too malformed to echo (it is then dropped).
    package static func writeSlip(
        query: UnsafeRawBufferPointer, advertisedPayload: UInt16, into response: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard query.count >= 12, response.count >= 512 else { return 0 }
        // The question: one name without pointers, then type and class.
        var offset = 12
        while offset < query.count {
            let length = Int(query[offset])
            guard length < 64 else { return 0 }
            offset += 1 + length
            if length == 0 { break }
        }
        let questionEnd = offset + 4
        // A query (QR clear) with opcode QUERY and one question; anything else gets no slip.
        guard query[2] & 0xF8 == 0, query[4] == 0, query[5] == 1, questionEnd <= query.count,
            questionEnd + 11 <= response.count
        else { return 0 }
        response.copyMemory(from: UnsafeRawBufferPointer(rebasing: query[0..<questionEnd]))
        // QR and TC set, RD echoed; AA, RA, CD and the RCODE clear.
        response[2] = 0x80 | 0x02 | (query[2] & 0x01)
        response[3] = 0
        for index in 6..<12 { response[index] = 0 }
        guard query[10] == 0, query[11] == 1, hasOPT(query, at: questionEnd) else { return questionEnd }
        let opt = questionEnd
        response[opt] = 0  // root owner
        response[opt + 1] = 0
        response[opt + 2] = 41
        response[opt + 3] = UInt8(advertisedPayload >> 8)
        response[opt + 4] = UInt8(truncatingIfNeeded: advertisedPayload)
        response[opt + 5] = 0  // extended RCODE
        response[opt + 6] = 0  // version
        response[opt + 7] = query[opt + 7] & 0x80  // DO copied (RFC 3225 §3)
        response[opt + 8] = 0
        response[opt + 9] = 0  // RDLENGTH
        response[opt + 10] = 0
        response[11] = 1
        return opt + 11
    }

    /// Whether an OPT record (root owner, type 41, version 0) starts at `offset`.
    private static func hasOPT(_ query: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        offset + 11 <= query.count && query[offset] == 0 && query[offset + 1] == 0 && query[offset + 2] == 41
            && query[offset + 6] == 0
    }
}
