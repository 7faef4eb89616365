import Synchronization

/// A registered instance: its immutable registration and its lease.
///
/// A class so that answers, the expiry heap and the id index share one object. The lease deadline
/// and the exposure (how long answers holding it may stay cached) are atomics: a heartbeat moves the
/// deadline without rebuilding anything, and DNS threads read both without taking the table's lock.
package final class Instance: Sendable {
    package let spec: InstanceSpec
    /// When the registration was accepted (or recovered).
    package let registeredAt: Instant
    private let deadlineNanoseconds: Atomic<Int64>
    private let exposedUntilNanoseconds: Atomic<Int64>

    package init(spec: InstanceSpec, deadline: Instant, registeredAt: Instant, exposedUntil: Instant = .zero) {
        self.spec = spec
        self.registeredAt = registeredAt
        deadlineNanoseconds = Atomic(deadline.nanoseconds)
        exposedUntilNanoseconds = Atomic(exposedUntil.nanoseconds)
    }

    package var id: String { spec.id }

    /// When the lease ends: live while `now < deadline`.
    package var deadline: Instant { Instant(nanoseconds: deadlineNanoseconds.load(ordering: .acquiring)) }

    package func isLive(at now: Instant) -> Bool { now < deadline }

    /// Moves the deadline later; never earlier, so a late, reordered renewal cannot shorten a lease.
    package func extendDeadline(to deadline: Instant) {
        var current = deadlineNanoseconds.load(ordering: .relaxed)
        while current < deadline.nanoseconds {
            let (exchanged, original) = deadlineNanoseconds.compareExchange(
                expected: current, desired: deadline.nanoseconds, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// Until when an answer that held this instance may still sit in a cache that honours TTLs.
    package var exposedUntil: Instant { Instant(nanoseconds: exposedUntilNanoseconds.load(ordering: .acquiring)) }

    /// Records that an answer holding this instance went out and may be cached until `until`.
    ///
    /// Called on the DNS path: a plain load first, so the common case (no later bound) writes nothing.
    @inline(__always)
    package func noteExposure(until: Instant) {
        var current = exposedUntilNanoseconds.load(ordering: .relaxed)
        while current < until.nanoseconds {
            let (exchanged, original) = exposedUntilNanoseconds.compareExchange(
                expected: current, desired: until.nanoseconds, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Seconds until no cached answer can still hold this instance: the contract's `drain`.
    package func drainSeconds(now: Instant) -> Double {
        max(0, exposedUntil.seconds(since: now))
    }
}
