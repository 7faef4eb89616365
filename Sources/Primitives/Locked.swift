// Primitives: small building blocks every module shares: a lock, a seeded generator, a deadline heap (stdlib and Synchronization only).
import Synchronization

/// A value behind a `Mutex`, whose critical sections ThreadSanitizer can see.
///
/// On Linux, `Synchronization.Mutex` waits on a futex inside the standard library, which TSan does
/// not instrument: it then reports every access to the protected value from two threads as a race
/// (a ten-line program shows it with Swift 6.3.1). Each critical section here also loads an atomic
/// with acquiring order on entry and adds to it with releasing order on exit; atomics are compiled
/// into the caller, so TSan sees the hand-off from one holder to the next. It costs one uncontended
/// atomic load and one atomic add per lock, on a line the lock already owns.
package struct Locked<Value: ~Copyable>: ~Copyable {
    private let mutex: Mutex<Value>
    private let handoff = Atomic<UInt>(0)

    package init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
    }

    /// Runs `body` with exclusive access to the value.
    package borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            _ = handoff.load(ordering: .acquiring)
            defer { handoff.add(1, ordering: .releasing) }
            return try body(&value)
        }
    }
}

extension Locked: @unchecked Sendable where Value: ~Copyable {}
