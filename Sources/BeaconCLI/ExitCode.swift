// BeaconCLI: the `beacon` command line. Parses flags (each with its environment variable), runs
// the server or a client command, and maps failures to exit codes: 0 success, 1 failure, 64 usage.

/// How the process ends (sysexits.h: 64 is EX_USAGE).
package struct ExitCode: Error, RawRepresentable, Equatable, Sendable {
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }
    package init(_ rawValue: Int32) { self.rawValue = rawValue }

    package static let success = ExitCode(0)
    package static let failure = ExitCode(1)
    package static let usage = ExitCode(64)
}

/// A bad command line: printed as `beacon: MESSAGE` with a pointer to `--help`, exit 64.
package struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
