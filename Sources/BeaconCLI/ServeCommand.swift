import BeaconRuntime
import DNSWire
import Leases
import PosixIO
import TLS

/// `beacon serve`: flags to `ServeConfig`, then run until SIGINT or SIGTERM.
package enum ServeCommand {
    package static let specs: [FlagSpec] = [
        FlagSpec("dns", env: "BEACON_DNS", repeatable: true),
        FlagSpec("http", env: "BEACON_HTTP", repeatable: true),
        FlagSpec("domain", env: "BEACON_DOMAIN"),
        FlagSpec("zones", env: "BEACON_ZONES"),
        FlagSpec("data", env: "BEACON_DATA"),
        FlagSpec("in-memory", value: false, env: "BEACON_IN_MEMORY"),
        FlagSpec("journal-compact-bytes", env: "BEACON_JOURNAL_COMPACT_BYTES"),
        FlagSpec("max-ttl", env: "BEACON_MAX_TTL"),
        FlagSpec("upstream", env: "BEACON_UPSTREAM"),
        FlagSpec("token-file", env: "BEACON_TOKEN_FILE"),
        FlagSpec("store", env: "BEACON_STORE"),
        FlagSpec("tls-cert", env: "BEACON_TLS_CERT"),
        FlagSpec("tls-key", env: "BEACON_TLS_KEY"),
        FlagSpec("tls-client-ca", env: "BEACON_TLS_CLIENT_CA"),
        FlagSpec("etcd-ca", env: "BEACON_ETCD_CA"),
        FlagSpec("etcd-cert", env: "BEACON_ETCD_CERT"),
        FlagSpec("etcd-key", env: "BEACON_ETCD_KEY"),
        FlagSpec("udp-threads", env: "BEACON_UDP_THREADS"),
        FlagSpec("http-threads", env: "BEACON_HTTP_THREADS"),
        FlagSpec("tcp-threads", env: "BEACON_TCP_THREADS"),
        FlagSpec("max-instances", env: "BEACON_MAX_INSTANCES"),
        FlagSpec("max-instances-per-function", env: "BEACON_MAX_INSTANCES_PER_FUNCTION"),
        FlagSpec("max-tcp-connections", env: "BEACON_MAX_TCP_CONNECTIONS"),
        FlagSpec("max-http-connections", env: "BEACON_MAX_HTTP_CONNECTIONS"),
        FlagSpec("udp-max-payload", env: "BEACON_UDP_MAX_PAYLOAD"),
        FlagSpec("rrl", env: "BEACON_RRL"),
        FlagSpec("tcp-idle-timeout", env: "BEACON_TCP_IDLE_TIMEOUT"),
        FlagSpec("tcp-message-timeout", env: "BEACON_TCP_MESSAGE_TIMEOUT"),
        FlagSpec("http-idle-timeout", env: "BEACON_HTTP_IDLE_TIMEOUT"),
        FlagSpec("http-request-timeout", env: "BEACON_HTTP_REQUEST_TIMEOUT"),
        FlagSpec("log-level", env: "BEACON_LOG_LEVEL"),
        FlagSpec("log-format", env: "BEACON_LOG_FORMAT"),
        FlagSpec("check", value: false),
        FlagSpec("help", value: false),
    ]

    static let help = """
        Usage: beacon serve [flags]

        Runs the resolver: DNS on UDP and TCP, and the HTTP side channel for registrations.
        Every flag can also come from its environment variable; the flag wins.

          --dns HOST:PORT          DNS listener, UDP and TCP; repeat for more ([::]:53 is dual-stack)
                                   [$BEACON_DNS, comma-separated, default 127.0.0.1:8053]
          --http HOST:PORT         HTTP side channel; repeat for more [$BEACON_HTTP, default 127.0.0.1:8054]
          --domain NAME            zone apex under which registrations appear [$BEACON_DOMAIN, default local.]
          --zones DIR              load every *.zone file in DIR [$BEACON_ZONES, default ./zones]
          --data DIR               journal and snapshots [$BEACON_DATA, default ./data]
          --in-memory              keep nothing on disk [$BEACON_IN_MEMORY=1]
          --journal-compact-bytes N  snapshot the table and restart the journal past N bytes
                                   [$BEACON_JOURNAL_COMPACT_BYTES, default 67108864]
          --max-ttl SECONDS        upper bound on any dynamic answer's TTL [$BEACON_MAX_TTL, default 30]
          --upstream HOST:PORT,... forward names outside the served zones [$BEACON_UPSTREAM, default: REFUSED]
          --token-file FILE        require a bearer token for register, heartbeat, deregister [$BEACON_TOKEN_FILE]
          --store URL              etcd://HOST:PORT[,HOST:PORT...] shares the table between nodes; etcds://
                                   for etcd over TLS [$BEACON_STORE]
          --tls-cert FILE          serve HTTPS: PEM certificate chain [$BEACON_TLS_CERT]
          --tls-key FILE           its PEM private key [$BEACON_TLS_KEY]
          --tls-client-ca FILE     require client certificates that verify against these PEM CAs; with
                                   --token-file, cert:NAME lines grant services by CN or SAN [$BEACON_TLS_CLIENT_CA]
          --etcd-ca FILE           CAs that verify the etcd members (etcds://) [$BEACON_ETCD_CA, default: system CAs]
          --etcd-cert FILE         client certificate for etcd [$BEACON_ETCD_CERT]
          --etcd-key FILE          its private key [$BEACON_ETCD_KEY]
          --udp-threads N          UDP sockets and threads on the DNS port [$BEACON_UDP_THREADS, default: one per CPU]
          --http-threads N         HTTP event loops on the HTTP port [$BEACON_HTTP_THREADS, default: one per CPU]
          --tcp-threads N          DNS-over-TCP event loops [$BEACON_TCP_THREADS, default: one per CPU]
          --max-instances N        instances in the table, 429 past it [$BEACON_MAX_INSTANCES, default 2000000]
          --max-instances-per-function N   429 past it [$BEACON_MAX_INSTANCES_PER_FUNCTION, default 10000]
          --max-tcp-connections N  open DNS TCP connections [$BEACON_MAX_TCP_CONNECTIONS, default 4096]
          --max-http-connections N open HTTP connections [$BEACON_MAX_HTTP_CONNECTIONS, default 4096]
          --udp-max-payload BYTES  largest UDP reply, 512-65535: a client gets min(its EDNS size, this);
                                   our OPT advertises it [$BEACON_UDP_MAX_PAYLOAD, default 1232]
          --rrl N                  UDP responses per second per /24 (IPv4) or /56 (IPv6) source; past it
                                   responses are dropped and every second one is sent truncated [$BEACON_RRL, default off]
          --tcp-idle-timeout SECONDS      close idle DNS TCP connections [$BEACON_TCP_IDLE_TIMEOUT, default 10]
          --tcp-message-timeout SECONDS   a DNS message over TCP must arrive in full this long after its
                                          first byte [$BEACON_TCP_MESSAGE_TIMEOUT, default 2]
          --http-idle-timeout SECONDS     close idle HTTP keep-alive connections [$BEACON_HTTP_IDLE_TIMEOUT, default 60]
          --http-request-timeout SECONDS  a request must arrive in full this long after its first byte
                                          [$BEACON_HTTP_REQUEST_TIMEOUT, default 10]
          --log-level LEVEL        debug, info, warning or error [$BEACON_LOG_LEVEL, default info]
          --log-format FORMAT      text, or json for one object per line [$BEACON_LOG_FORMAT, default text]
          --check                  load and check the flags, zones and token file, print what would be
                                   served, and exit 0 (or 1 naming the problem) without serving

        SIGINT or SIGTERM stops it cleanly (listeners closed, journal flushed, exit 0). SIGHUP reloads the
        zone files and the token file, all or nothing (a file that fails keeps the old set and is logged).
        """

    static func config(from arguments: ParsedArguments) throws(UsageError) -> ServeConfig {
        var config = ServeConfig()
        func address(_ name: String) throws(UsageError) -> SocketAddress? {
            guard let text = arguments.value(name) else { return nil }
            guard let address = SocketAddress(parsing: text) else {
                throw UsageError("\(arguments.origin(name)): expected HOST:PORT with an IP literal, got '\(text)'")
            }
            return address
        }
        /// A repeatable address flag: each use, or a comma-separated environment variable.
        func addresses(_ name: String) throws(UsageError) -> [SocketAddress]? {
            var texts = arguments.list(name)
            if texts.isEmpty, let value = arguments.value(name) { texts = value.split(separator: ",").map(String.init) }
            guard !texts.isEmpty else { return nil }
            var result: [SocketAddress] = []
            for text in texts {
                guard let address = SocketAddress(parsing: text) else {
                    throw UsageError("\(arguments.origin(name)): expected HOST:PORT with an IP literal, got '\(text)'")
                }
                guard !result.contains(address) else { throw UsageError("\(arguments.origin(name)): \(text) is given twice") }
                result.append(address)
            }
            return result
        }
        func integer(_ name: String, in range: ClosedRange<Int>) throws(UsageError) -> Int? {
            guard let text = arguments.value(name) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw UsageError(
                    "\(arguments.origin(name)): expected an integer \(range.lowerBound)-\(range.upperBound), got '\(text)'")
            }
            return value
        }
        if let dns = try addresses("dns") { config.dnsAddresses = dns }
        if let http = try addresses("http") { config.httpAddresses = http }
        if let text = arguments.value("domain") {
            guard let domain = try? DomainName(text), !domain.isRoot else {
                throw UsageError("\(arguments.origin("domain")): expected a domain name such as local. , got '\(text)'")
            }
            config.domain = domain.lowercased()
        }
        if let zones = arguments.value("zones") {
            config.zonesDirectory = zones
            config.zonesDirectoryExplicit = true
        }
        if let data = arguments.value("data") { config.dataDirectory = data }
        if arguments.has("in-memory") { config.dataDirectory = nil }
        if let bytes = try integer("journal-compact-bytes", in: 4_096...(1 << 40)) { config.journalCompactionBytes = bytes }
        if let ttl = try integer("max-ttl", in: 0...86_400) { config.maxTTL = UInt32(ttl) }
        if let text = arguments.value("upstream") {
            var upstreams: [SocketAddress] = []
            for part in text.split(separator: ",") {
                guard let address = SocketAddress(parsing: String(part)) else {
                    throw UsageError("\(arguments.origin("upstream")): expected HOST:PORT[,HOST:PORT...], got '\(part)'")
                }
                upstreams.append(address)
            }
            config.upstreams = upstreams
        }
        config.tokenFile = arguments.value("token-file")
        try parseStore(arguments, into: &config)
        config.tls = try tlsSettings(arguments)
        if let threads = try integer("udp-threads", in: 1...64) { config.udpThreads = threads }
        if let threads = try integer("http-threads", in: 1...64) { config.httpThreads = threads }
        if let threads = try integer("tcp-threads", in: 1...64) { config.tcpThreads = threads }
        if let limit = try integer("max-instances", in: 1...100_000_000) { config.limits.maxInstances = limit }
        if let limit = try integer("max-instances-per-function", in: 1...1_000_000) {
            config.limits.maxInstancesPerFunction = limit
        }
        if let limit = try integer("max-tcp-connections", in: 1...1_000_000) { config.tcpMaxConnections = limit }
        if let limit = try integer("max-http-connections", in: 1...1_000_000) { config.httpMaxConnections = limit }
        if let bytes = try integer("udp-max-payload", in: 512...65_535) { config.udpMaxPayload = bytes }
        if let rate = try integer("rrl", in: 1...10_000_000) { config.responseRateLimit = rate }
        if let seconds = try integer("tcp-idle-timeout", in: 1...3_600) { config.tcpIdleMilliseconds = seconds * 1000 }
        if let seconds = try integer("tcp-message-timeout", in: 1...3_600) {
            config.tcpMessageMilliseconds = seconds * 1000
        }
        if let seconds = try integer("http-idle-timeout", in: 1...3_600) { config.httpIdleMilliseconds = seconds * 1000 }
        if let seconds = try integer("http-request-timeout", in: 1...3_600) {
            config.httpHeaderTimeoutMilliseconds = seconds * 1000
        }
        if let text = arguments.value("log-level") {
            guard let level = Log.Level(name: text) else {
                throw UsageError("\(arguments.origin("log-level")): expected debug, info, warning or error, got '\(text)'")
            }
            config.logLevel = level
        }
        if let text = arguments.value("log-format") {
            guard let format = Log.Format(rawValue: text.lowercased()) else {
                throw UsageError("\(arguments.origin("log-format")): expected text or json, got '\(text)'")
            }
            config.logFormat = format
        }
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
