import CGlue
import Glibc

/// Child processes, for the sidecar.
package enum ChildProcess {
    /// Starts `arguments[0]` (searched in PATH) with the rest as its arguments, inheriting the
    /// environment and standard streams, with the default signal mask and dispositions.
    /// The corresponding C function is `posix_spawnp`.
    package static func spawn(_ arguments: [String]) throws(SystemCallError) -> Int32 {
        precondition(!arguments.isEmpty)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawnp(&pid, argv[0]!, nil, &attributes, argv, environ)
        guard result == 0 else { throw SystemCallError(call: "spawn \(arguments[0])", errno: Errno(rawValue: result)) }
        return pid
    }

    /// How a child ended.
    package enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)

        /// The status a shell would report: the exit code, or 128 + the signal.
        package var shellStatus: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    /// The child's termination if it has ended, without waiting. The corresponding C function is `waitpid`.
    package static func poll(_ pid: Int32) -> Termination? {
        var status: CInt = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        return decode(status)
    }

    /// Waits for the child to end.
    package static func wait(_ pid: Int32) -> Termination {
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return .exited(-1) }
        }
        return decode(status)
    }

    private static func decode(_ status: CInt) -> Termination {
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(signal)
    }
}
