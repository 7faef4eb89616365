import Leases

/// Turning etcd's lease figures into local deadlines that never run past the real lease.
///
/// Every deadline is measured from `sentAt`, read from the monotonic clock before the request went
/// out: etcd computed its figure after that, so the real lease ends no earlier than `sentAt` plus the
/// figure. etcd rounds remaining TTLs down to whole seconds, which errs short again. etcd also raises
/// a TTL below its minimum (2 s by default); a cover lease stands for the instance's own TTL, so a
/// remaining time is reduced by what etcd added.
package enum LeaseClock {
    /// From `/v3/lease/grant`: the lease runs `ttl` from (after) `sentAt`.
    package static func deadline(sentAt: Instant, renewedTTL ttl: Int64, specTTL: UInt32) -> Instant {
        sentAt.adding(seconds: min(ttl, Int64(specTTL)))
    }

    /// From `/v3/lease/timetolive`; nil when the lease is gone (`remaining` is -1).
    package static func deadline(sentAt: Instant, remaining: Int64, granted: Int64, specTTL: UInt32) -> Instant? {
        guard remaining >= 0 else { return nil }
        let raised = max(0, granted - Int64(specTTL))
        return sentAt.adding(seconds: max(0, min(remaining - raised, Int64(specTTL))))
    }
}
