import CGlue
import Glibc

/// Signal handling by waiting, not by handlers: the main thread blocks the signals before any other
/// thread starts (so every thread inherits the mask) and then waits for them with `sigwait`.
package enum Signals {
    package static let interrupt = SIGINT
    package static let terminate = SIGTERM
    package static let hangUp = SIGHUP
    package static let child = SIGCHLD
    package static let kill = SIGKILL

    /// Blocks `signals` in the calling thread and the threads it starts later.
    package static func block(_ signals: [CInt]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits until one of `signals` (blocked beforehand) arrives and returns it.
    /// The corresponding C function is `sigwait`.
    package static func wait(for signals: [CInt]) -> CInt {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        var received: CInt = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    /// Like `wait(for:)`, giving up after `milliseconds`; nil on timeout.
    /// The corresponding C function is `sigtimedwait`.
    package static func wait(for signals: [CInt], milliseconds: Int) -> CInt? {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        var timeout = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        let result = sigtimedwait(&set, nil, &timeout)
        return result > 0 ? result : nil
    }

    /// Ignores SIGPIPE: a peer that goes away shows up as EPIPE on the write instead of ending the process.
    package static func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

    /// Sends `signal` to process `pid`. The corresponding C function is `kill`.
    package static func send(_ signal: CInt, to pid: Int32) throws(SystemCallError) {
        _ = try Posix.retrying("kill") { Glibc.kill(pid, signal) }
    }
}
