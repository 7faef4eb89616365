import PosixIO

/// Where a command writes: the process's standard streams, or a capture in tests.
///
/// The client commands take one so that tests can run them in-process and check their output and
/// exit status without spawning the binary.
package struct Console: Sendable {
    package var out: @Sendable (String) -> Void
    package var err: @Sendable (String) -> Void

    package init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        self.out = out
        self.err = err
    }

    /// File descriptors 1 and 2, unbuffered.
    package static let standard = Console(
        out: { Posix.writeStandardOutput($0) }, err: { Posix.writeStandardError($0) })

    /// A failed call: `beacon: MESSAGE` on stderr, exit 1.
    func fail(_ message: String) -> ExitCode {
        err("beacon: \(message)\n")
        return .failure
    }
}
