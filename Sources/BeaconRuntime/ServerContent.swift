import Authority
import DNSServer
import DNSWire
import HTTPControl
import Leases
import PosixIO

/// What the files give a server: the zones from `--zones` and the tokens from `--token-file`.
/// Loaded at start and again on SIGHUP (or `POST /v1/reload`), all or nothing: `load` either
/// returns a whole new content or throws naming the file, and the old one stays.
package struct ServerContent: Sendable {
    package let zones: ZoneSet
    package let tokens: TokenTable?

    /// Reads and checks every file. Runs on the caller's thread, never on a packet path.
    /// - Throws: one line naming the flag, the `file:line:column` or the address.
    package static func load(_ config: ServeConfig, dnsAddress: SocketAddress?) throws(StartupError) -> ServerContent {
        let zones = try ZoneLoader.load(
            directory: config.zonesDirectory, mustExist: config.zonesDirectoryExplicit, domain: config.domain,
            nameServerAddress: dnsAddress)
        return ServerContent(zones: zones, tokens: try loadTokens(config.tokenFile))
    }

    private static func loadTokens(_ path: String?) throws(StartupError) -> TokenTable? {
        guard let path else { return nil }
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try Files.read(path)
        } catch {
            throw StartupError("--token-file \(path): cannot read: \(error.errno)")
        }
        do throws(TokenFileError) {
            return try TokenTable(parsing: String(decoding: bytes, as: UTF8.self), fileName: path)
        } catch {
            throw StartupError("--token-file \(error.message)")
        }
    }

    /// The responders for these zones.
    func answerers(_ config: ServeConfig) -> (responder: Responder, fast: FastResponder) {
        let resolver = Resolver(zones: zones, dynamic: DynamicNames(apex: config.domain, maxTTL: config.maxTTL))
        return (
            Responder(resolver: resolver, forwarding: !config.upstreams.isEmpty, udpMaxPayload: config.udpMaxPayload),
            FastResponder(resolver: resolver, udpMaxPayload: config.udpMaxPayload)
        )
    }

    /// Function names (`F.S` under the domain) that a static CNAME owns: a registration there
    /// would never be seen (RFC 2181 §10.1: a CNAME stands alone), so it is refused with 409.
    func cnameOwners(domain: DomainName) -> [FunctionKey: String] {
        guard let zone = zones.zones.first(where: { $0.origin == domain }) else { return [:] }
        var owners: [FunctionKey: String] = [:]
        for (name, node) in zone.nodes where node.rrsets[.cname] != nil && name.labelCount == domain.labelCount + 2 {
            let labels = name.lowercased().labels
            guard let function = LabelRules.normalize(bytes: labels[0]), let service = LabelRules.normalize(bytes: labels[1])
            else { continue }
            owners[FunctionKey(service: service, function: function)] = name.description
        }
        return owners
    }

    /// What a server with this content and `config` would serve, a line each (`serve --check`).
    package func summary(_ config: ServeConfig) -> [String] {
        var lines: [String] = []
        for zone in zones.zones {
            lines.append("zone \(zone.origin): \(Self.records(zone)) records" + (zone.origin == config.domain ? " (registrations here)" : ""))
        }
        lines.append("dns: " + config.dnsAddresses.map(\.description).joined(separator: ", "))
        lines.append("http: " + config.httpAddresses.map(\.description).joined(separator: ", "))
        if !config.etcdEndpoints.isEmpty {
            lines.append("store: etcd " + config.etcdEndpoints.map(\.description).joined(separator: ", "))
        } else {
            lines.append("store: " + (config.dataDirectory.map { "journal in \($0)" } ?? "in memory"))
        }
        if let tokens { lines.append("tokens: \(tokens.entries.count) from \(config.tokenFile ?? "")") }
        if !config.upstreams.isEmpty { lines.append("upstream: " + config.upstreams.map(\.description).joined(separator: ", ")) }
        return lines
    }

    static func records(_ zone: Zone) -> Int { zone.nodes.values.reduce(0) { $0 + $1.rrsets.values.reduce(0) { $0 + $1.rdatas.count } } }

    /// What changed from `old`, for the reload's log line: zones added, removed and changed, with
    /// their record counts.
    func changes(from old: ServerContent) -> String {
        let before = Dictionary(uniqueKeysWithValues: old.zones.zones.map { ($0.origin, Self.records($0)) })
        let after = Dictionary(uniqueKeysWithValues: zones.zones.map { ($0.origin, Self.records($0)) })
        var parts: [String] = []
        let added = after.keys.filter { before[$0] == nil }.sorted { $0.description < $1.description }
        let removed = before.keys.filter { after[$0] == nil }.sorted { $0.description < $1.description }
        let changed = after.keys.filter { before[$0] != nil && before[$0] != after[$0] }.sorted { $0.description < $1.description }
        if !added.isEmpty { parts.append("zones added: " + added.map { "\($0) (\(after[$0]!) records)" }.joined(separator: ", ")) }
        if !removed.isEmpty { parts.append("zones removed: " + removed.map(\.description).joined(separator: ", ")) }
        if !changed.isEmpty {
            parts.append("zones changed: " + changed.map { "\($0) (\(before[$0]!) -> \(after[$0]!) records)" }.joined(separator: ", "))
        }
        let unchanged = after.count - added.count - changed.count
        parts.append("\(unchanged) zone\(unchanged == 1 ? "" : "s") as before, \(after.values.reduce(0, +)) records in all")
        if let tokens {
            let previous = old.tokens?.entries.count ?? 0
            parts.append("tokens: \(tokens.entries.count)" + (previous != tokens.entries.count ? " (was \(previous))" : ""))
        }
        return parts.joined(separator: "; ")
    }
}
