import Clients
import PosixIO
import TLS

/// `beacon sidecar`: flags to a `SidecarConfig`, then `SidecarDriver` runs it.
enum SidecarCommand {
    static let specs: [FlagSpec] =
        RegistrationFlags.specs + [
            FlagSpec("interval"), FlagSpec("check"), FlagSpec("drain-max"), FlagSpec("server", env: "BEACON_SERVER"),
            FlagSpec("token-file"), FlagSpec("help", value: false),
        ] + ClientOptions.tlsSpecs

    static let help = """
        Usage: beacon sidecar --service S --function F --port P [flags] [-- CMD ARGS...]

        Keeps one instance registered for as long as it is healthy, and takes it out cleanly:
          - registers once --check first passes (at once without --check), then heartbeats every
            --interval, or sooner when the server's next_heartbeat_in asks;
          - the check runs before each heartbeat, and every second while it fails; while it fails,
            the sidecar stops heartbeating (it does not deregister), so the instance leaves DNS
            within one TTL, and it heartbeats (or registers again) once the check passes;
          - registers again when the server answers 404 (lease lost, Beacon restarted) and retries an
            unreachable server with capped, jittered backoff, leaving the service running;
          - with `-- CMD`, starts CMD and passes SIGINT, SIGTERM and SIGHUP on to it. On SIGTERM or
            SIGINT it deregisters FIRST, keeps CMD serving for the drain the server returned (at most
            --drain-max), and only then passes the signal on; a second signal ends the drain early.
            When CMD exits on its own, it deregisters at once. It exits with CMD's status (128 + N
            if signal N ended it); 126/127 when CMD cannot be started.
          - without a command, a signal deregisters, waits the drain, and exits 0.

          --service S          service name (a DNS label)
          --function F         function name (a DNS label)
          --port P             port to publish
          --address A          address to publish [default: the host's first non-loopback IPv4, else 127.0.0.1]
          --id ID              instance id [default: derived by the server from service, function, address, port]
          --ttl N              lease in seconds, 1-86400 [default 30]
          --interval N         longest gap between heartbeats, seconds [default 10]
          --check URL          http://HOST:PORT/PATH (passes on 2xx/3xx within 2 s) or tcp://HOST:PORT
          --drain-max N        longest drain honoured on SIGTERM/SIGINT, seconds [default 30]
          --priority N, --weight N, --meta KEY=VALUE (repeatable)   as for `beacon register`
          --server URL         Beacon's HTTP side channel, http:// or https:// [$BEACON_SERVER, default \(ClientOptions.defaultServer)]
          --token-file FILE    send the first token in FILE as Authorization: Bearer
        \(ClientOptions.tlsHelp)

        Logs one line per event on stderr. Under systemd use KillMode=mixed, so that SIGTERM reaches
        only the sidecar and CMD keeps serving through the drain, and TimeoutStopSec above --drain-max.
        """

    static func run(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        let config: SidecarConfig
        do throws(ExitCodeMessage) {
            config = try SidecarConfig.parse(arguments, interfaces: { try? Posix.interfaceAddresses() })
        } catch {
            return error.report(to: console)
        }
        var driver = SidecarDriver(config: config, log: Log(level: .info))
        return driver.run()
    }
}

/// What `beacon sidecar` was asked to do, checked before anything starts.
package struct SidecarConfig {
    var registration: RegistrationFlags
    var check: HealthCheck?
    var interval: Duration = .seconds(10)
    var drainMax: Duration = .seconds(30)
    var server: HTTPEndpoint
    var token: String?
    var command: [String]
    /// For an `https://` server.
    var tls: TLSClientContext? = nil

    static let defaultTTL = 30

    /// Reads the flags; every value the server would refuse is a usage error here (exit 64), so a
    /// typo stops the sidecar before it starts the service rather than failing every retry later.
    static func parse(_ arguments: ParsedArguments, interfaces: () -> [InterfaceAddress]?) throws(ExitCodeMessage)
        -> SidecarConfig
    {
        func usage(_ message: String) -> ExitCodeMessage { ExitCodeMessage(.usage, message) }
        func seconds(_ name: String, default value: Duration, allowZero: Bool) throws(ExitCodeMessage) -> Duration {
            guard let text = arguments.value(name) else { return value }
            guard let number = Double(text), number.isFinite, allowZero ? number >= 0 : number > 0, number <= 86_400
            else {
                throw usage("--\(name): expected seconds (\(allowZero ? "0" : "more than 0") to 86400), got '\(text)'")
            }
            return .milliseconds(Int((number * 1000).rounded()))
        }
        guard arguments.positionals.isEmpty else {
            throw usage("sidecar takes no arguments before -- (got '\(arguments.positionals[0])')")
        }
        var registration: RegistrationFlags
        do throws(UsageError) {
            let address = arguments.value("address") == nil ? defaultAddress(interfaces() ?? []) : nil
            registration = try RegistrationFlags.parse(arguments, defaultAddress: address, checkRanges: true)
        } catch {
            throw usage(error.message)
        }
        if registration.ttl == nil { registration.ttl = defaultTTL }
        var check: HealthCheck? = nil
        if let text = arguments.value("check") {
            do throws(ClientError) {
                check = try HealthCheck(parsing: text)
            } catch {
                throw usage("--check: \(error)")
            }
        }
        let serverText = arguments.value("server") ?? ClientOptions.defaultServer
        let server: HTTPEndpoint
        do throws(ClientError) {
            server = try HTTPEndpoint(parsing: serverText)
        } catch {
            throw usage("\(arguments.origin("server")): \(error)")
        }
        let token = try arguments.value("token-file").map { (path) throws(ExitCodeMessage) in
            try ClientOptions.readToken(path)
        }
        return SidecarConfig(
            registration: registration, check: check,
            interval: try seconds("interval", default: .seconds(10), allowZero: false),
            drainMax: try seconds("drain-max", default: .seconds(30), allowZero: true), server: server,
            token: token, command: arguments.passthrough, tls: try ClientOptions.tlsContext(arguments, server: server))
    }

    /// The address to advertise when `--address` is absent: the first IPv4 address of an interface that
    /// is up and not loopback (what other hosts can reach, as with Consul's default bind address),
    /// else 127.0.0.1. IPv6 is skipped because the first one listed is usually link-local.
    package static func defaultAddress(_ interfaces: [InterfaceAddress]) -> String {
        for interface in interfaces where interface.isUp && !interface.isLoopback {
            if case .v4 = interface.address { return interface.address.hostText }
        }
        return "127.0.0.1"
    }
}
