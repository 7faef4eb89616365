import BeaconCLI
import BeaconRuntime
import Clients
import DNSWire
import HTTPControl
import HTTPWire
import Leases
import PosixIO
import Synchronization
import Testing

/// Issue 17: reload without a restart, several listeners, the version, `--check`, JSON logs,
/// thread names and CPU limits.
@Suite("Operations", .serialized)
struct OperationsTests {
    /// A zones directory of its own, removed at the end.
    final class ZonesDirectory: Sendable {
        let path = "/tmp/beacon-ops-\(Posix.processID)-\(Posix.monotonicNanoseconds())"
        init(_ files: [String: String]) throws {
            try Files.makeDirectories(path)
            for (name, text) in files { try write(name, text) }
        }
        func write(_ name: String, _ text: String) throws { try Files.writeAtomically("\(path)/\(name)", Array(text.utf8)) }
        deinit {
            for name in (try? Files.list(path)) ?? [] { try? Posix.unlink("\(path)/\(name)") }
            try? Posix.removeDirectory(path)
        }
    }

    static let localZone = """
        $ORIGIN local.
        $TTL 60
        @ SOA ns hostmaster 1 3600 600 86400 5
        @ NS ns
        ns A 127.0.0.1
        www A 192.0.2.1
        alias.orders CNAME www

        """

    static func metric(_ beacon: RunningBeacon, _ name: String) throws -> String? {
        var client = beacon.http()
        let text = String(decoding: try client.send("GET", "/metrics").body, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) }
    }

    @Test func aReloadPutsNewZonesInForceAndABadFileKeepsTheOld() throws {
        let zones = try ZonesDirectory(["local.zone": Self.localZone])
        let beacon = try RunningBeacon { $0.zonesDirectory = zones.path }
        #expect(try beacon.query("new.local.", .a).rcode == .nxDomain)
        try zones.write("local.zone", Self.localZone + "new A 192.0.2.9\n")
        try zones.write("example.zone", "$ORIGIN example.\n@ 60 SOA ns h 1 2 3 4 5\n@ 60 NS ns\nns 60 A 192.0.2.2\n")
        guard case .reloaded(let summary) = beacon.server.reload(reason: "test") else {
            Issue.record("the reload failed")
            return
        }
        #expect(summary.contains("zones added: example."), "\(summary)")
        #expect(summary.contains("zones changed: local."), "\(summary)")
        #expect(try beacon.query("new.local.", .a).answers.first?.rdata.presentation == "192.0.2.9")
        #expect(try beacon.query("ns.example.", .a).answers.count == 1)
        // A broken file: nothing changes, the failure is logged with its place and counted.
        try zones.write("local.zone", Self.localZone + "broken A 999.1.1.1\n")
        guard case .failed(let reason) = beacon.server.reload(reason: "test") else {
            Issue.record("a bad zone file was accepted")
            return
        }
        #expect(reason.contains("local.zone:8:"), "\(reason)")
        #expect(try beacon.query("new.local.", .a).answers.count == 1, "the previous zones stay in force")
        #expect(try beacon.query("ns.example.", .a).answers.count == 1)
        #expect(try Self.metric(beacon, "beacon_reload_failures_total") == "1")
        #expect(try Self.metric(beacon, "beacon_reloads_total") == "1")
        #expect(beacon.logs.all.contains { $0.contains("reload (test) failed") && $0.contains("local.zone:8:") })
    }

    @Test func aTokenRemovedByAReloadStopsWorkingAndPostReloadNeedsAFullToken() throws {
        let path = "/tmp/beacon-ops-tokens-\(Posix.processID)"
        try Files.writeAtomically(path, Array("admin-token-1\nold-orders orders\n".utf8))
        let beacon = try RunningBeacon { $0.tokenFile = path }
        var client = beacon.http()
        let body: JSONValue = ["service": "orders", "function": "f", "address": "10.0.0.1", "port": 1]
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer old-orders")], body: body).status == 200)
        #expect(try client.json("POST", "/v1/reload", headers: [("Authorization", "Bearer old-orders")]).status == 403)
        #expect(try client.json("POST", "/v1/reload").status == 401)
        try Files.writeAtomically(path, Array("admin-token-1\nnew-orders orders\n".utf8))
        let (status, reply) = try client.json("POST", "/v1/reload", headers: [("Authorization", "Bearer admin-token-1")])
        #expect(status == 200, "\(reply.jsonText)")
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer old-orders")], body: body).status == 401)
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer new-orders")], body: body).status == 200)
    }

    @Test func aRegistrationWhereAStaticCNAMEStandsIsRefusedWith409() throws {
        let zones = try ZonesDirectory(["local.zone": Self.localZone])
        let beacon = try RunningBeacon { $0.zonesDirectory = zones.path }
        var client = beacon.http()
        let body: JSONValue = ["service": "orders", "function": "alias", "address": "10.0.0.1", "port": 1]
        let (status, reply) = try client.json("POST", "/v1/register", body: body)
        #expect(status == 409)
        #expect(reply["error"]?.stringValue?.contains("alias.orders.local.") == true, "\(reply.jsonText)")
        let other: JSONValue = ["service": "orders", "function": "create", "address": "10.0.0.1", "port": 1]
        #expect(try client.json("POST", "/v1/register", body: other).status == 200)
    }

    @Test func severalListenersEachAnswerAndCountApart() throws {
        let beacon = try RunningBeacon {
            $0.dnsAddresses = [SocketAddress(parsing: "127.0.0.1:0")!, SocketAddress(parsing: "[::1]:0")!]
            $0.httpAddresses = [SocketAddress(parsing: "127.0.0.1:0")!, SocketAddress(parsing: "[::1]:0")!]
        }
        #expect(beacon.server.dnsAddresses.count == 2 && beacon.server.httpAddresses.count == 2)
        try beacon.register(["service": "s", "function": "f", "address": "10.0.0.1", "port": 1])
        for address in beacon.server.dnsAddresses {
            let client = DNSClient(server: address, timeoutMilliseconds: 2_000)
            #expect(try client.query(DomainName("f.s.local."), type: .a).answers.count == 1, "\(address)")
        }
        var second = HTTPClient(endpoint: HTTPEndpoint(address: beacon.server.httpAddresses[1]))
        #expect(try second.json("GET", "/healthz").status == 200)
        var client = beacon.http()
        let text = String(decoding: try client.send("GET", "/metrics").body, as: UTF8.self)
        for address in beacon.server.dnsAddresses {
            #expect(text.contains("beacon_dns_listener_responses_total{listener=\"\(address)\",transport=\"udp\",rcode=\"NOERROR\"} 1"))
        }
        #expect(text.contains("beacon_dns_response_size_bytes_bucket{listener="))
    }

    @Test func theVersionIsEverywhereAnOperatorLooks() throws {
        let captured = Mutex("")
        let console = Console(out: { text in captured.withLock { $0 += text } }, err: { _ in })
        #expect(CommandLineTool.main(["beacon", "--version"], environment: [:], console: console) == 0)
        let line = captured.withLock { $0 }
        #expect(line.hasPrefix("beacon \(BuildInfo.version) (commit "))
        let beacon = try RunningBeacon()
        var client = beacon.http()
        #expect(try client.json("GET", "/healthz").value["version"]?.stringValue?.hasPrefix(BuildInfo.version) == true)
        let metrics = String(decoding: try client.send("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("beacon_build_info{version=\"\(BuildInfo.version)\",commit=\"\(BuildInfo.commit)\"} 1"))
        #expect(metrics.contains("process_resident_memory_bytes "))
        let page = String(decoding: try client.send("GET", "/").body, as: UTF8.self)
        #expect(page.contains(BuildInfo.version))
    }

    @Test func checkLoadsEverythingAndBindsNothing() throws {
        let zones = try ZonesDirectory(["local.zone": Self.localZone])
        let output = Mutex("")
        let errors = Mutex("")
        let console = Console(out: { text in output.withLock { $0 += text } }, err: { text in errors.withLock { $0 += text } })
        let good = CommandLineTool.main(
            ["beacon", "serve", "--check", "--zones", zones.path, "--in-memory", "--dns", "127.0.0.1:1"], environment: [:],
            console: console)
        #expect(good == 0)
        #expect(output.withLock { $0 }.contains("zone local.: 5 records (registrations here)"), "\(output.withLock { $0 })")
        try zones.write("local.zone", Self.localZone + "bad IN A\n")
        let bad = CommandLineTool.main(
            ["beacon", "serve", "--check", "--zones", zones.path, "--in-memory"], environment: [:], console: console)
        #expect(bad == 1)
    }

    @Test func jsonLogLinesAreOneObjectEach() {
        let lines = Mutex<[String]>([])
        let log = Log(level: .info, format: .json) { line in lines.withLock { $0.append(line) } }
        log.info("a \"quoted\"\tline\nwith a break")
        let line = lines.withLock { $0 }.first ?? ""
        #expect(line.hasPrefix("{\"time\":\""))
        #expect(line.hasSuffix("\"level\":\"info\",\"message\":\"a \\\"quoted\\\"\\tline\\nwith a break\"}\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
    }

    @Test func threadsAreNamedAndCPULimitsAreRead() throws {
        let beacon = try RunningBeacon()
        _ = beacon
        // Each thread names itself once it runs: on a busy machine that can be a little later.
        func threadNames() throws -> [String] {
            try Files.list("/proc/self/task").compactMap { task in
                (try? Files.read("/proc/self/task/\(task)/comm")).map { String(decoding: $0, as: UTF8.self) }
            }
        }
        var names = try threadNames()
        for _ in 0..<100 where !(names.contains("beacon-udp-0\n") && names.contains { $0.hasPrefix("beacon-http-") }) {
            Posix.sleep(milliseconds: 20)
            names = try threadNames()
        }
        #expect(names.contains { $0.hasPrefix("beacon-tcp-") })
        #expect(names.contains("beacon-udp-0\n"), "\(names)")
        #expect(names.contains { $0.hasPrefix("beacon-http-") })
        #expect(Posix.parseCPUMax("150000 100000\n") == 2)
        #expect(Posix.parseCPUMax("max 100000\n") == nil)
        #expect(Posix.parseCPUMax("100000 100000") == 1)
        #expect(Posix.availableCPUs() >= 1)
    }
}
