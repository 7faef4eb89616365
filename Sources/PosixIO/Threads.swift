import Glibc

/// A started thread that can be joined.
package struct ThreadHandle: @unchecked Sendable {
    // pthread_t is a plain integer on Linux; joining from any thread is allowed.
    fileprivate let thread: pthread_t

    package func join() { pthread_join(thread, nil) }
}

package enum Threads {
    // Threads are not named: `pthread_setname_np` is a GNU extension the Glibc module hides, and
    // `prctl` is variadic, which Swift cannot call. `name` is kept for diagnostics.

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
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(Errno(rawValue: result))")
        return ThreadHandle(thread: thread)
    }
}
