// Leases: the registration table, with no I/O and no clock of its own.
//
// Conventions: every operation that depends on time takes `now: Instant`; callers read the clock.
// An instance is live while `now < deadline`; lookups filter by that, so an instance leaves every
// answer the instant its lease ends, whether or not `expire(now:)` has swept it yet. Names
// (service, function, id) are validated DNS labels stored lower-case.

/// A point on a monotonic clock, in nanoseconds.
///
/// A plain 64-bit count rather than `ContinuousClock.Instant`: the answer path computes a TTL from
/// it on every query and 128-bit `Duration` arithmetic costs more there than it buys.
package struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    package var nanoseconds: Int64

    package init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    package static let zero = Instant(nanoseconds: 0)

    package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    package func adding(seconds: Int64) -> Instant { Instant(nanoseconds: nanoseconds &+ seconds &* 1_000_000_000) }
    package func adding(nanoseconds delta: Int64) -> Instant { Instant(nanoseconds: nanoseconds &+ delta) }
    package func adding(milliseconds: Int64) -> Instant { adding(nanoseconds: milliseconds &* 1_000_000) }

    /// `self - other` in seconds, fractional.
    package func seconds(since other: Instant) -> Double { Double(nanoseconds &- other.nanoseconds) / 1e9 }

    package var description: String { "\(Double(nanoseconds) / 1e9)s" }
}
