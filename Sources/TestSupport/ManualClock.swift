import Primitives
import Leases
import Synchronization

/// A clock that moves only when a test moves it (STYLE 3.4 #9: time is a parameter, tests never sleep).
///
/// Built on `Mutex`, so it can be read from the threads of a concurrency test and passed to a
/// `MemoryStore` as its clock closure.
package final class ManualClock: Sendable {
    private let current: Locked<Instant>

    /// Starts at `start`: by default 1,000 s, far enough from zero that "before now" is representable.
    package init(_ start: Instant = Instant(nanoseconds: 1_000 * 1_000_000_000)) {
        current = Locked(start)
    }

    package var now: Instant { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative value) and returns the new time.
    @discardableResult
    package func advance(nanoseconds: Int64) -> Instant {
        current.withLock { now in
            now = now.adding(nanoseconds: nanoseconds)
            return now
        }
    }

    @discardableResult
    package func advance(milliseconds: Int64) -> Instant { advance(nanoseconds: milliseconds * 1_000_000) }

    @discardableResult
    package func advance(seconds: Int64) -> Instant { advance(nanoseconds: seconds * 1_000_000_000) }

    /// Jumps to `instant`.
    package func set(_ instant: Instant) { current.withLock { $0 = instant } }

    /// The clock as a closure, for code that takes `() -> Instant` (a `MemoryStore`).
    package var closure: @Sendable () -> Instant { { [self] in now } }
}

extension Instant {
    /// `seconds` after the zero instant, fractional allowed: `.at(1000.5)`.
    package static func at(_ seconds: Double) -> Instant {
        Instant(nanoseconds: Int64((seconds * 1e9).rounded()))
    }
}
