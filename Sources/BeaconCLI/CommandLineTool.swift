import BeaconRuntime
import PosixIO

/// The entry point: picks the command and turns its outcome into an exit status.
package enum CommandLineTool {
    static let help = """
        Usage: beacon COMMAND [flags]

        Beacon is a DNS-style service-discovery resolver: services register over HTTP and keep their
        lease alive with heartbeats; a DNS server answers SRV and A/AAAA queries for them.

        Commands:
          serve        run the resolver (DNS on UDP and TCP, HTTP side channel)
          register     register an instance (--service --function --address --port)
          heartbeat    renew an instance's lease: heartbeat ID
          deregister   remove an instance and print how long to keep it serving: deregister ID
          ls           list live instances: ls [SERVICE]
          reload       have the server reload its zone files and token file (as SIGHUP does)
          resolve      ask Beacon's DNS server: resolve NAME [TYPE]
          sidecar      keep a service registered while its health check passes: sidecar [flags] -- CMD ARGS...

        The client commands talk to --server (default http://127.0.0.1:8054, $BEACON_SERVER);
        resolve talks to --dns (default 127.0.0.1:8053, $BEACON_DNS).
        Exit status: 0 success, 1 a failed call (the server's message on stderr), 64 bad usage.

        Run `beacon COMMAND --help` for a command's flags; `beacon --version` prints the version.
        """

    /// Runs the command line and returns the process exit status.
    package static func main(_ arguments: [String], environment: [String: String], console: Console = .standard)
        -> Int32
    {
        let rest = Array(arguments.dropFirst())
        guard let command = rest.first else {
            console.err(help + "\n")
            return ExitCode.usage.rawValue
        }
        if command == "--help" || command == "-h" || command == "help" {
            console.out(help + "\n")
            return ExitCode.success.rawValue
        }
        if command == "--version" || command == "version" {
            console.out(BuildInfo.versionLine + "\n")
            return ExitCode.success.rawValue
        }
        let commandArguments = Array(rest.dropFirst())
        func run(_ specs: [FlagSpec], _ help: String, _ body: (ParsedArguments) -> ExitCode) -> Int32 {
            Self.run(commandArguments, specs: specs, help: help, environment: environment, console: console, body)
                .rawValue
        }
        switch command {
        case "serve":
            return run(ServeCommand.specs, ServeCommand.help) { ServeCommand.run($0, console: console) }
        case "register":
            return run(InstanceCommands.registerSpecs, InstanceCommands.registerHelp) {
                InstanceCommands.register($0, console: console)
            }
        case "heartbeat":
            return run(InstanceCommands.instanceSpecs, InstanceCommands.heartbeatHelp) {
                InstanceCommands.heartbeat($0, console: console)
            }
        case "reload":
            return run(InstanceCommands.instanceSpecs, InstanceCommands.reloadHelp) {
                InstanceCommands.reload($0, console: console)
            }
        case "deregister":
            return run(InstanceCommands.instanceSpecs, InstanceCommands.deregisterHelp) {
                InstanceCommands.deregister($0, console: console)
            }
        case "ls":
            return run(ListCommand.specs, ListCommand.help) { ListCommand.run($0, console: console) }
        case "resolve":
            return run(ResolveCommand.specs, ResolveCommand.help) { ResolveCommand.run($0, console: console) }
        case "sidecar":
            return run(SidecarCommand.specs, SidecarCommand.help) { SidecarCommand.run($0, console: console) }
        default:
            return usageFailure(UsageError("unknown command '\(command)'"), console: console).rawValue
        }
    }

    /// Parses the flags and runs `body`. `--help` counts only before `--`, so that
    /// `beacon sidecar ... -- server --help` starts the server rather than printing the sidecar's help.
    private static func run(
        _ arguments: [String], specs: [FlagSpec], help: String, environment: [String: String], console: Console,
        _ body: (ParsedArguments) -> ExitCode
    ) -> ExitCode {
        let own = arguments.prefix { $0 != "--" }
        if own.contains("--help") || own.contains("-h") {
            console.out(help + "\n")
            return .success
        }
        do throws(UsageError) {
            return body(try ParsedArguments.parse(arguments, specs: specs, environment: environment))
        } catch {
            return usageFailure(error, console: console)
        }
    }

    static func usageFailure(_ error: UsageError, console: Console = .standard) -> ExitCode {
        console.err("beacon: \(error.message)\nRun 'beacon --help' for usage.\n")
        return .usage
    }
}
