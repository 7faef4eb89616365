import CGlue
import Glibc

/// A started thread that can be joined.
package struct ThreadHandle: @unchecked Sendable {
    // pthread_t is a plain integer on Linux; joining from any thread is allowed.
    fileprivate let thread: pthread_t

    package func join() { pthread_join(thread, nil) }
}

package enum Threads {
    // Threads are named (`beacon-udp-0`, `beacon-journal`, ...) for `top -H`, `ps -L` and
    // /proc/PID/task/*/comm: `pthread_setname_np` is declared in CGlue (the Glibc module hides it).

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(_ name: String, _ body: @escaping @Sendable () -> Void) {
            self.name = String(decoding: name.utf8.prefix(15), as: UTF8.self)
            self.body = body
        }
    }

    /// Starts `body` on a new POSIX thread named `name` (at most 15 bytes show in `top -H`).
    ///
    /// Started from a `nonisolated` function: in Swift 6 mode a thread made from top-level code in
    /// `main.swift` crashed at start (see TOOLCHAIN.md).
    /// Starts `body` on a thread nobody joins: its resources go back when it ends.
    package static func detach(name: String, _ body: @escaping @Sendable () -> Void) {
        pthread_detach(start(name: name, body).thread)
    }

    @discardableResult
    package static func start(name: String, _ body: @escaping @Sendable () -> Void) -> ThreadHandle {
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                _ = CGlue.pthread_setname_np(UInt(pthread_self()), box.name)
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(Errno(rawValue: result))")
        return ThreadHandle(thread: thread)
    }
}
