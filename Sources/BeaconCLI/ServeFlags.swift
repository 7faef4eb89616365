import BeaconRuntime
import DNSWire
import Leases
import PosixIO

/// One `beacon serve` flag, written once: its name (the environment variable is derived from it),
/// the placeholder and help `--help` shows, the default (read from `ServeConfig()`, so the help
/// cannot drift from what the server does), and how a value lands in the configuration.
package struct ServeFlag: Sendable {
    typealias Apply = @Sendable (ParsedArguments, inout ServeConfig) throws(UsageError) -> Void

    package let name: String
    /// `HOST:PORT`, `N`...; empty for a switch.
    package let placeholder: String
    let help: String
    let repeatable: Bool
    /// Whether `$BEACON_<NAME>` supplies it (every flag but `--check` and `--help`).
    let hasEnvironment: Bool
    /// The default as `--help` and the README show it, from a default configuration; "none" is left
    /// out of the help.
    package let defaultText: @Sendable (ServeConfig) -> String
    /// Nil for flags read together with others after the table (`--store` with `--etcd-*`, `--tls-*`).
    let apply: Apply?

    init(
        _ name: String, _ placeholder: String, _ help: String, repeatable: Bool = false, environment: Bool = true,
        default defaultText: @escaping @Sendable (ServeConfig) -> String, apply: Apply?
    ) {
        self.name = name
        self.placeholder = placeholder
        self.help = help
        self.repeatable = repeatable
        hasEnvironment = environment
        self.defaultText = defaultText
        self.apply = apply
    }

    package var environmentVariable: String? {
        hasEnvironment ? "BEACON_" + String(name.map { $0 == "-" ? "_" : Character($0.uppercased()) }) : nil
    }

    var spec: FlagSpec {
        FlagSpec(name, value: !placeholder.isEmpty, env: environmentVariable, repeatable: repeatable)
    }

    /// An integer flag checked against `range`.
    static func integer(
        _ name: String, _ placeholder: String = "N", in range: ClosedRange<Int>, _ help: String,
        default defaultText: @escaping @Sendable (ServeConfig) -> String,
        set: @escaping @Sendable (inout ServeConfig, Int) -> Void
    ) -> ServeFlag {
        ServeFlag(name, placeholder, help, default: defaultText) { (arguments, config) throws(UsageError) in
            guard let text = arguments.value(name) else { return }
            guard let value = Int(text), range.contains(value) else {
                throw UsageError(
                    "\(arguments.origin(name)): expected an integer \(range.lowerBound)-\(range.upperBound), got '\(text)'")
            }
            set(&config, value)
        }
    }

    /// A timeout in whole seconds, 1-3600, kept in milliseconds.
    static func seconds(
        _ name: String, _ help: String, milliseconds: any WritableKeyPath<ServeConfig, Int> & Sendable
    ) -> ServeFlag {
        integer(name, "SECONDS", in: 1...3_600, help, default: { "\($0[keyPath: milliseconds] / 1000)" }) {
            $0[keyPath: milliseconds] = $1 * 1000
        }
    }

    /// A switch: present or absent.
    static func toggle(
        _ name: String, _ help: String, environment: Bool = true, set: @escaping @Sendable (inout ServeConfig) -> Void
    ) -> ServeFlag {
        ServeFlag(name, "", help, environment: environment, default: { _ in "off" }) { _, config in set(&config) }
    }

    /// A file read with others after the table.
    static func file(_ name: String, _ help: String, default defaultText: String = "none") -> ServeFlag {
        ServeFlag(name, "FILE", help, default: { _ in defaultText }, apply: nil)
    }
}

extension ServeFlag {
    /// Every `serve` flag in `--help` order. Applied in this order, so `--in-memory` wins over `--data`.
    package static let all: [ServeFlag] = [
        addresses("dns", "DNS listener, UDP and TCP; repeat for more ([::]:53 is dual-stack)", \.dnsAddresses),
        addresses("http", "HTTP side channel; repeat for more", \.httpAddresses),
        ServeFlag("domain", "NAME", "zone apex under which registrations appear", default: { "\($0.domain)" }) {
            (arguments, config) throws(UsageError) in
            guard let text = arguments.value("domain") else { return }
            guard let domain = try? DomainName(text), !domain.isRoot else {
                throw UsageError("\(arguments.origin("domain")): expected a domain name such as local. , got '\(text)'")
            }
            config.domain = domain.lowercased()
        },
        ServeFlag("zones", "DIR", "load every *.zone file in DIR", default: { $0.zonesDirectory }) { arguments, config in
            config.zonesDirectory = arguments.value("zones") ?? config.zonesDirectory
            config.zonesDirectoryExplicit = true
        },
        ServeFlag("data", "DIR", "journal and snapshots", default: { $0.dataDirectory ?? "none" }) { arguments, config in
            config.dataDirectory = arguments.value("data")
        },
        toggle("in-memory", "keep nothing on disk") { $0.dataDirectory = nil },
        integer(
            "journal-compact-bytes", in: 4_096...(1 << 40), "snapshot the table and restart the journal past N bytes",
            default: { "\($0.journalCompactionBytes)" }
        ) { $0.journalCompactionBytes = $1 },
        integer(
            "max-ttl", "SECONDS", in: 0...86_400, "upper bound on any dynamic answer's TTL", default: { "\($0.maxTTL)" }
        ) { $0.maxTTL = UInt32($1) },
        ServeFlag(
            "upstream", "HOST:PORT,...", "forward names outside the served zones (without it: REFUSED)",
            default: { $0.upstreams.isEmpty ? "none" : $0.upstreams.map(\.description).joined(separator: ",") }
        ) { (arguments, config) throws(UsageError) in
            guard let text = arguments.value("upstream") else { return }
            config.upstreams = []
            for part in text.split(separator: ",") {
                guard let address = SocketAddress(parsing: String(part)) else {
                    throw UsageError("\(arguments.origin("upstream")): expected HOST:PORT[,HOST:PORT...], got '\(part)'")
                }
                config.upstreams.append(address)
            }
        },
        ServeFlag(
            "token-file", "FILE", "require a bearer token for register, heartbeat, deregister",
            default: { $0.tokenFile ?? "none" }
        ) { arguments, config in config.tokenFile = arguments.value("token-file") },
        ServeFlag(
            "store", "URL", "etcd://HOST:PORT[,HOST:PORT...] shares the table between nodes; etcds:// for etcd over TLS",
            default: { _ in "embedded" }, apply: nil),
        file("tls-cert", "serve HTTPS: PEM certificate chain"),
        file("tls-key", "its PEM private key"),
        file(
            "tls-client-ca",
            "require client certificates that verify against these PEM CAs; with --token-file, cert:NAME lines grant services by CN or SAN"),
        file("etcd-ca", "CAs that verify the etcd members (etcds://)", default: "system CAs"),
        file("etcd-cert", "client certificate for etcd"),
        file("etcd-key", "its private key"),
        threads("udp-threads", "UDP sockets and threads on the DNS port", \.udpThreads),
        threads("http-threads", "HTTP event loops on the HTTP port", \.httpThreads),
        threads("tcp-threads", "DNS-over-TCP event loops", \.tcpThreads),
        integer(
            "max-instances", in: 1...100_000_000, "instances in the table, 429 past it",
            default: { "\($0.limits.maxInstances)" }
        ) { $0.limits.maxInstances = $1 },
        integer(
            "max-instances-per-function", in: 1...1_000_000, "instances per function, 429 past it",
            default: { "\($0.limits.maxInstancesPerFunction)" }
        ) { $0.limits.maxInstancesPerFunction = $1 },
        integer(
            "max-tcp-connections", in: 1...1_000_000,
            "open DNS TCP connections; at the cap a new one replaces the least recently useful",
            default: { "\($0.tcpMaxConnections)" }
        ) { $0.tcpMaxConnections = $1 },
        integer(
            "max-http-connections", in: 1...1_000_000, "open HTTP connections", default: { "\($0.httpMaxConnections)" }
        ) { $0.httpMaxConnections = $1 },
        integer(
            "udp-max-payload", "BYTES", in: 512...65_535,
            "largest UDP reply, 512-65535: a client gets min(its EDNS size, this); our OPT advertises it",
            default: { "\($0.udpMaxPayload)" }
        ) { $0.udpMaxPayload = $1 },
        integer(
            "rrl", in: 1...10_000_000,
            "UDP responses per second per /24 (IPv4) or /56 (IPv6) source; past it responses are dropped and every second one is sent truncated",
            default: { $0.responseRateLimit.map { "\($0)" } ?? "off" }
        ) { $0.responseRateLimit = $1 },
        seconds("tcp-idle-timeout", "close idle DNS TCP connections", milliseconds: \.tcpIdleMilliseconds),
        seconds(
            "tcp-message-timeout", "a DNS message over TCP must arrive in full this long after its first byte",
            milliseconds: \.tcpMessageMilliseconds),
        seconds("http-idle-timeout", "close idle HTTP keep-alive connections", milliseconds: \.httpIdleMilliseconds),
        seconds(
            "http-request-timeout", "a request must arrive in full this long after its first byte",
            milliseconds: \.httpHeaderTimeoutMilliseconds),
        ServeFlag("log-level", "LEVEL", "debug, info, warning or error", default: { "\($0.logLevel)" }) {
            (arguments, config) throws(UsageError) in
            guard let text = arguments.value("log-level") else { return }
            guard let level = Log.Level(name: text) else {
                throw UsageError("\(arguments.origin("log-level")): expected debug, info, warning or error, got '\(text)'")
            }
            config.logLevel = level
        },
        ServeFlag("log-format", "FORMAT", "text, or json for one object per line", default: { $0.logFormat.rawValue }) {
            (arguments, config) throws(UsageError) in
            guard let text = arguments.value("log-format") else { return }
            guard let format = Log.Format(rawValue: text.lowercased()) else {
                throw UsageError("\(arguments.origin("log-format")): expected text or json, got '\(text)'")
            }
            config.logFormat = format
        },
        toggle(
            "check",
            "load and check the flags, zones and token file, print what would be served, and exit 0 (or 1 naming the problem) without serving",
            environment: false
        ) { _ in },
    ]

    /// A repeatable address flag: each use, or a comma-separated environment variable.
    private static func addresses(
        _ name: String, _ help: String, _ field: any WritableKeyPath<ServeConfig, [SocketAddress]> & Sendable
    ) -> ServeFlag {
        ServeFlag(
            name, "HOST:PORT", help, repeatable: true,
            default: { $0[keyPath: field].map(\.description).joined(separator: ",") }
        ) { (arguments, config) throws(UsageError) in
            var texts = arguments.list(name)
            if texts.isEmpty, let value = arguments.value(name) { texts = value.split(separator: ",").map(String.init) }
            guard !texts.isEmpty else { return }
            var result: [SocketAddress] = []
            for text in texts {
                guard let address = SocketAddress(parsing: text) else {
                    throw UsageError("\(arguments.origin(name)): expected HOST:PORT with an IP literal, got '\(text)'")
                }
                guard !result.contains(address) else { throw UsageError("\(arguments.origin(name)): \(text) is given twice") }
                result.append(address)
            }
            config[keyPath: field] = result
        }
    }

    private static func threads(
        _ name: String, _ help: String, _ field: any WritableKeyPath<ServeConfig, Int> & Sendable
    ) -> ServeFlag {
        integer(name, in: 1...64, help, default: { _ in "one per CPU" }) { $0[keyPath: field] = $1 }
    }
}

extension ServeFlag {
    static let helpColumn = 28
    static let helpWidth = 104

    /// The flag's `--help` entry: the flag and placeholder, the help, then `[$VARIABLE, default X]`,
    /// wrapped at `helpWidth` with continuation lines under the help column.
    func helpEntry(defaults: ServeConfig) -> String {
        let flag = "  --\(name)" + (placeholder.isEmpty ? "" : " \(placeholder)")
        var notes: [String] = []
        if let variable = environmentVariable { notes.append("$" + variable + (placeholder.isEmpty ? "=1" : "")) }
        let shown = defaultText(defaults)
        if shown != "none" && shown != "off" { notes.append("default \(shown)") }
        let text = help + (notes.isEmpty ? "" : " [" + notes.joined(separator: ", ") + "]")
        var lines: [String] = []
        var line = flag.count + 2 <= Self.helpColumn
            ? flag + String(repeating: " ", count: Self.helpColumn - flag.count) : flag + "  "
        var lineHasWords = false
        for word in text.split(separator: " ") {
            if lineHasWords && line.count + 1 + word.count > Self.helpWidth {
                lines.append(line)
                line = String(repeating: " ", count: Self.helpColumn)
                lineHasWords = false
            }
            line += (lineHasWords ? " " : "") + word
            lineHasWords = true
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}
