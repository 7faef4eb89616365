import BeaconRuntime
import DNSWire
import Leases
import PosixIO
import TLS

/// `beacon serve`: flags to `ServeConfig`, then run until SIGINT or SIGTERM.
package enum ServeCommand {
    package static let specs: [FlagSpec] = ServeFlag.all.map(\.spec) + [FlagSpec("help", value: false)]

    /// Generated from `ServeFlag.all`, with the defaults of a default `ServeConfig`.
    static var help: String {
        let defaults = ServeConfig()
        return """
            Usage: beacon serve [flags]

            Runs the resolver: DNS on UDP and TCP, and the HTTP side channel for registrations.
            Every flag can also come from its environment variable; the flag wins.

            \(ServeFlag.all.map { $0.helpEntry(defaults: defaults) }.joined(separator: "\n"))

            SIGINT or SIGTERM stops it cleanly (listeners closed, journal flushed, exit 0). SIGHUP reloads the
            zone files and the token file, all or nothing (a file that fails keeps the old set and is logged).
            """
    }

    static func config(from arguments: ParsedArguments) throws(UsageError) -> ServeConfig {
        var config = ServeConfig()
        for flag in ServeFlag.all where arguments.has(flag.name) { try flag.apply?(arguments, &config) }
        try parseStore(arguments, into: &config)
        config.tls = try tlsSettings(arguments)
        return config
    }

    /// `--store etcd://...` or `etcds://...`, and the `--etcd-*` TLS files that go with the latter.
    package static func parseStore(_ arguments: ParsedArguments, into config: inout ServeConfig) throws(UsageError) {
        let etcdFlags = ["etcd-ca", "etcd-cert", "etcd-key"].filter { arguments.has($0) }
        guard let text = arguments.value("store") else {
            if let flag = etcdFlags.first { throw UsageError("\(arguments.origin(flag)) needs --store etcds://HOST:PORT") }
            return
        }
        let scheme = ["etcd://", "etcds://"].first { text.hasPrefix($0) }
        guard let scheme else {
            throw UsageError(
                "\(arguments.origin("store")): expected etcd://HOST:PORT[,HOST:PORT...] or etcds://..., got '\(text)'")
        }
        var endpoints: [SocketAddress] = []
        var hosts: [String] = []
        for part in text.dropFirst(scheme.count).split(separator: ",") {
            guard let address = SocketAddress(parsing: String(part)), let colon = part.lastIndex(of: ":") else {
                throw UsageError("\(arguments.origin("store")): bad etcd endpoint '\(part)' (HOST:PORT)")
            }
            endpoints.append(address)
            hosts.append(String(part[..<colon].trimmingPrefix("[").prefix { $0 != "]" }))
        }
        guard !endpoints.isEmpty else { throw UsageError("\(arguments.origin("store")): no etcd endpoint") }
        config.etcdEndpoints = endpoints
        config.etcdHosts = hosts
        guard scheme == "etcds://" else {
            if let flag = etcdFlags.first { throw UsageError("\(arguments.origin(flag)) needs --store etcds:// (TLS)") }
            return
        }
        if arguments.has("etcd-cert") != arguments.has("etcd-key") {
            let (given, missing) = arguments.has("etcd-cert") ? ("etcd-cert", "etcd-key") : ("etcd-key", "etcd-cert")
            throw UsageError("\(arguments.origin(given)) needs --\(missing)")
        }
        func file(_ name: String) -> TLSFile? { arguments.value(name).map { TLSFile($0, flag: arguments.origin(name)) } }
        config.etcdTLS = TLSClientSettings(ca: file("etcd-ca"), certificate: file("etcd-cert"), key: file("etcd-key"))
    }

    /// `--tls-cert`, `--tls-key`, `--tls-client-ca`: nil when HTTPS is off.
    static func tlsSettings(_ arguments: ParsedArguments) throws(UsageError) -> TLSServerSettings? {
        func file(_ name: String) -> TLSFile? { arguments.value(name).map { TLSFile($0, flag: arguments.origin(name)) } }
        switch (file("tls-cert"), file("tls-key")) {
        case (let certificate?, let key?):
            return TLSServerSettings(certificate: certificate, key: key, clientCA: file("tls-client-ca"))
        case (_?, nil):
            throw UsageError("\(arguments.origin("tls-cert")) needs --tls-key")
        case (nil, _?):
            throw UsageError("\(arguments.origin("tls-key")) needs --tls-cert")
        case (nil, nil):
            if arguments.has("tls-client-ca") {
                throw UsageError("\(arguments.origin("tls-client-ca")) needs --tls-cert and --tls-key")
            }
            return nil
        }
    }

    static func run(_ arguments: ParsedArguments, console: Console = .standard) -> ExitCode {
        let config: ServeConfig
        do throws(UsageError) {
            guard arguments.positionals.isEmpty else {
                throw UsageError("serve takes no arguments (got '\(arguments.positionals[0])')")
            }
            config = try Self.config(from: arguments)
        } catch {
            return CommandLineTool.usageFailure(error)
        }
        if arguments.has("check") { return check(config, console: console) }
        // Before any thread starts, so that every thread inherits the mask and only `wait` sees them.
        Signals.block([Signals.interrupt, Signals.terminate, Signals.hangUp])
        Signals.ignoreBrokenPipe()
        Posix.raiseOpenFileLimit()
        let log = Log(level: config.logLevel, format: config.logFormat)
        let server: BeaconServer
        do throws(StartupError) {
            server = try BeaconServer.start(config, log: log)
        } catch {
            Posix.writeStandardError("beacon: \(error.message)\n")
            return .failure
        }
        while true {
            let signal = Signals.wait(for: [Signals.interrupt, Signals.terminate, Signals.hangUp])
            if signal == Signals.hangUp {
                server.reload(reason: "SIGHUP")
                continue
            }
            log.info("received \(signal == Signals.interrupt ? "SIGINT" : "SIGTERM"), stopping")
            server.stop()
            return .success
        }
    }

    /// `--check`: everything `serve` would load, checked, and a summary on stdout; nothing bound.
    static func check(_ config: ServeConfig, console: Console) -> ExitCode {
        let content: ServerContent
        do throws(StartupError) {
            content = try ServerContent.load(config, dnsAddress: config.dnsAddress)
        } catch {
            console.err("beacon: \(error.message)\n")
            return .failure
        }
        let lines = ["beacon \(BuildInfo.version): configuration OK"] + content.summary(config)
        console.out(lines.joined(separator: "\n") + "\n")
        return .success
    }
}
