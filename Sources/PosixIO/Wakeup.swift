import Glibc

/// Wakes one sleeping thread: an eventfd that one thread blocks on and others signal.
///
/// A Linux eventfd keeps a counter, so a `signal()` that comes before the `wait()` is not lost: the
/// wait returns at once. That is what lets a caller check its own state under a `Mutex`, unlock,
/// and then wait here without the missed-wakeup race a bare condition variable would have.
/// Several signals before one wait collapse into one wakeup.
package final class Wakeup: Sendable {
    private let descriptor: FileDescriptor

    package init() throws(SystemCallError) {
        descriptor = FileDescriptor(taking: try Posix.blockingEventFD())
    }

    /// Wakes the waiter, or makes its next `wait()` return at once.
    package func signal() {
        var one: UInt64 = 1
        descriptor.withUnsafeDescriptor { fd in
            // Only EAGAIN (the counter at its maximum, already signalled) can fail here.
            _ = try? withUnsafeBytes(of: &one) { bytes throws(SystemCallError) in try Posix.write(fd, from: bytes) }
        }
    }

    /// Sleeps until `signal()` has been called since the last wait returned.
    package func wait() {
        var count: UInt64 = 0
        descriptor.withUnsafeDescriptor { fd in
            _ = try? withUnsafeMutableBytes(of: &count) { bytes throws(SystemCallError) in
                try Posix.read(fd, into: bytes)
            }
        }
    }

    /// Sleeps until `signal()` has been called since the last wait returned, or `milliseconds` pass.
    /// - Returns: whether it was signalled.
    @discardableResult
    package func wait(milliseconds: Int) -> Bool {
        let ready = descriptor.withUnsafeDescriptor { fd in
            (try? Posix.poll(fd, events: Int16(POLLIN), timeoutMilliseconds: max(0, milliseconds))) ?? false
        }
        guard ready else { return false }
        wait()
        return true
    }
}
