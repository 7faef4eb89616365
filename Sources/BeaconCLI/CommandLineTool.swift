import PosixIO

/// The entry point: picks the command and turns its outcome into an exit status.
package enum CommandLineTool {
    static let help = """
        Usage: beacon COMMAND [flags]

        Beacon is a DNS-style service-discovery resolver: services register over HTTP and keep their
        lease alive with heartbeats; a DNS server answers SRV and A/AAAA queries for them.

        Commands:
          serve        run the resolver (DNS on UDP and TCP, HTTP side channel)

        Run `beacon COMMAND --help` for a command's flags.
        """

    /// Runs the command line and returns the process exit status.
    package static func main(_ arguments: [String], environment: [String: String]) -> Int32 {
        let rest = Array(arguments.dropFirst())
        guard let command = rest.first else {
            Posix.writeStandardError(help + "\n")
            return ExitCode.usage.rawValue
        }
        if command == "--help" || command == "-h" || command == "help" {
            Posix.writeStandardOutput(help + "\n")
            return ExitCode.success.rawValue
        }
        let commandArguments = Array(rest.dropFirst())
        switch command {
        case "serve":
            return run(commandArguments, specs: ServeCommand.specs, help: ServeCommand.help, environment: environment) {
                ServeCommand.run($0)
            }.rawValue
        default:
            return usageFailure(UsageError("unknown command '\(command)'")).rawValue
        }
    }

    private static func run(
        _ arguments: [String], specs: [FlagSpec], help: String, environment: [String: String],
        _ body: (ParsedArguments) -> ExitCode
    ) -> ExitCode {
        if arguments.contains("--help") || arguments.contains("-h") {
            Posix.writeStandardOutput(help + "\n")
            return .success
        }
        do throws(UsageError) {
            return body(try ParsedArguments.parse(arguments, specs: specs, environment: environment))
        } catch {
            return usageFailure(error)
        }
    }

    static func usageFailure(_ error: UsageError) -> ExitCode {
        Posix.writeStandardError("beacon: \(error.message)\nRun 'beacon --help' for usage.\n")
        return .usage
    }
}
