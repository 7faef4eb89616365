import CGlue
import Glibc

/// Owns one open descriptor and closes it when it goes away.
///
/// `~Copyable`, so that two owners of one descriptor (a double close) cannot compile. The raw value
/// is lent out through `withUnsafeDescriptor`, or handed over with `take()`.
package struct FileDescriptor: ~Copyable, Sendable {
    private let raw: CInt

    package init(taking raw: CInt) {
        precondition(raw >= 0, "FileDescriptor needs an open descriptor")
        self.raw = raw
    }

    deinit { Posix.close(raw) }

    package func withUnsafeDescriptor<R, E: Error>(_ body: (CInt) throws(E) -> R) throws(E) -> R { try body(raw) }

    /// The raw value, for logs and epoll registration keys.
    package var rawValue: CInt { raw }

    /// Hands the descriptor over without closing it.
    package consuming func take() -> CInt {
        let value = raw
        discard self
        return value
    }
}
