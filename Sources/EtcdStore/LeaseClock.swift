import Leases

/// Turning etcd's lease figures into local deadlines that never run past the real lease.
///
/// Every deadline is measured from `sentAt`, read from the monotonic clock before the request went
/// out: etcd computed its figure after that, so the real lease ends no earlier than `sentAt` plus the
/// figure. etcd rounds remaining TTLs down to whole seconds, which errs short again. etcd also raises
/// a TTL below its minimum (2 s by default); Beacon's lease is the instance's own TTL, so a
/// remaining time is reduced by what etcd added.
package enum LeaseClock {
    /// From `/v3/lease/grant` or `/v3/lease/keepalive`: the lease runs `ttl` from (after) `sentAt`.
    package static func deadline(sentAt: Instant, renewedTTL ttl: Int64, specTTL: UInt32) -> Instant {
        sentAt.adding(seconds: min(ttl, Int64(specTTL)))
    }

    /// From `/v3/lease/timetolive`; nil when the lease is gone (`remaining` is -1).
    package static func deadline(sentAt: Instant, remaining: Int64, granted: Int64, specTTL: UInt32) -> Instant? {
        guard remaining >= 0 else { return nil }
        let raised = max(0, granted - Int64(specTTL))
        return sentAt.adding(seconds: max(0, min(remaining - raised, Int64(specTTL))))
    }

    /// A heartbeat is answered at once, before any keep-alive, while the node's deadline (never later
    /// than the lease) leaves at least half the TTL: the lease then outlives the reply by half a TTL
    /// even if nothing more reaches etcd, and the keep-alive the heartbeat is owed goes out later
    /// (`renewalLead`). Closer to the end, the heartbeat waits for a keep-alive sent after it arrived.
    package static func answersAtOnce(deadline: Instant, now: Instant, ttl: UInt32) -> Bool {
        deadline.nanoseconds - now.nanoseconds >= Int64(ttl) * 500_000_000
    }

    /// How long before its local deadline an owed keep-alive goes out: a third of the TTL, at least
    /// 8 s (or the whole TTL when shorter). Several heartbeats before then share one keep-alive; a
    /// client heartbeating every third of its TTL costs one keep-alive per two thirds of a TTL. The
    /// lead leaves time for the renewal marker to reach the other nodes before their own deadlines
    /// (which sit a few seconds short of the lease: `RenewalMarker`) and for a retry on another member.
    package static func renewalLead(ttl: UInt32) -> Int64 {
        let ttlNanoseconds = Int64(ttl) * 1_000_000_000
        return max(ttlNanoseconds / 3, min(ttlNanoseconds, 8_000_000_000))
    }

    /// How close to its local deadline an instance must be before a node asks etcd (one
    /// `timetolive`) whether the lease was renewed elsewhere: 10% of the TTL, at least 2 s. Renewal
    /// markers normally arrive earlier (see `RenewalMarker`), so this read is the fallback: markers
    /// missed during a watch gap, TTLs too short for markers, renewals by nodes of older versions.
    package static func refreshWindow(ttl: UInt32) -> Int64 {
        max(2_000_000_000, Int64(ttl) * 100_000_000)
    }
}
