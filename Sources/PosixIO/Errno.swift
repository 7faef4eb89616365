// PosixIO: the only module that makes system calls.
//
// Conventions: each wrapper in `Syscalls.swift` reads `errno` at once, retries EINTR, returns
// EAGAIN/EWOULDBLOCK as `IOResult.wouldBlock`, and throws `SystemCallError` for the rest. EBADF,
// EFAULT and ENOTSOCK mean a bug in this process (a descriptor used after close, a bad pointer)
// and stop it with a precondition rather than travel up as errors. A `~Copyable` `FileDescriptor`
// owns each descriptor and closes it when it goes away.
import CGlue
import Glibc

/// A C `errno` value.
package struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: CInt
    package init(rawValue: CInt) { self.rawValue = rawValue }

    package static var current: Errno { Errno(rawValue: errno) }

    package static let interrupted = Errno(rawValue: EINTR)
    package static let wouldBlock = Errno(rawValue: EAGAIN)
    package static let inProgress = Errno(rawValue: EINPROGRESS)
    package static let addressInUse = Errno(rawValue: EADDRINUSE)
    package static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    package static let connectionReset = Errno(rawValue: ECONNRESET)
    package static let brokenPipe = Errno(rawValue: EPIPE)
    package static let noSuchFile = Errno(rawValue: ENOENT)
    package static let noSpace = Errno(rawValue: ENOSPC)
    package static let readOnlyFileSystem = Errno(rawValue: EROFS)
    package static let permissionDenied = Errno(rawValue: EACCES)
    package static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    package static let noChild = Errno(rawValue: ECHILD)
    package static let noSuchProcess = Errno(rawValue: ESRCH)
    package static let timedOut = Errno(rawValue: ETIMEDOUT)
    package static let ioError = Errno(rawValue: EIO)
    package static let notPermitted = Errno(rawValue: EPERM)
    package static let quotaExceeded = Errno(rawValue: EDQUOT)

    package var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: text)
    }

    /// Errors that can only come from a bug in this process, never from the outside world.
    var isProgrammingError: Bool { rawValue == EBADF || rawValue == EFAULT || rawValue == ENOTSOCK }
}

/// A failed system call: which one, and why.
package struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    package var call: String
    package var errno: Errno

    package init(call: String, errno: Errno) {
        self.call = call
        self.errno = errno
    }

    package var description: String { "\(call): \(errno)" }
}

/// The result of a non-blocking operation: done, or it would have had to wait.
package enum IOResult<T> {
    case processed(T)
    case wouldBlock
}

extension IOResult: Sendable where T: Sendable {}
