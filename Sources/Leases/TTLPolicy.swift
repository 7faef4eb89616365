/// How lease deadlines become DNS TTLs and heartbeat advice.
package enum TTLPolicy {
    /// The TTL of a dynamic RRset whose earliest lease ends at `earliestDeadline`.
    ///
    /// The whole seconds until that deadline, minus one, capped by `maxTTL`, never below 0. The one
    /// second is for caches that count whole seconds and keep a record through its last second (Unbound
    /// does), so no cache that honours the TTL serves an instance past its lease.
    @inline(__always)
    package static func answerTTL(earliestDeadline: Instant, now: Instant, maxTTL: UInt32) -> UInt32 {
        let remaining = earliestDeadline.nanoseconds &- now.nanoseconds
        guard remaining >= 2_000_000_000 else { return 0 }
        let whole = remaining / 1_000_000_000 - 1
        return whole >= Int64(maxTTL) ? maxTTL : UInt32(whole)
    }

    /// Until when an answer sent at `now` with `ttl` may be served by a cache that honours TTLs:
    /// the send time plus the TTL plus the last whole second such a cache keeps it.
    @inline(__always)
    package static func exposure(now: Instant, ttl: UInt32) -> Instant {
        now.adding(seconds: Int64(ttl) + 1)
    }

    /// When a client should send its next heartbeat: about a third of the TTL, spread by `jitter`
    /// (a value in 0..<1) over ±10% so that a fleet started at once does not heartbeat in lock-step.
    package static func nextHeartbeat(ttl: UInt32, jitter: Double) -> Double {
        let base = Double(ttl) / 3
        let spread = base * 0.2 * (min(max(jitter, 0), 1) - 0.5)
        return (max(0.2, base + spread) * 1000).rounded() / 1000
    }
}
