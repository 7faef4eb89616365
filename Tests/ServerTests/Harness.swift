import Primitives
import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import Leases
import PosixIO
import Synchronization
import Testing

/// A Beacon started in-process on ephemeral loopback ports, with an in-memory store.
final class RunningBeacon: Sendable {
    let server: BeaconServer
    let logs = LogCapture()

    init(configure: (inout ServeConfig) -> Void = { _ in }) throws {
        var config = ServeConfig()
        config.dnsAddress = SocketAddress(parsing: "127.0.0.1:0")!
        config.httpAddress = SocketAddress(parsing: "127.0.0.1:0")!
        config.dataDirectory = nil
        config.zonesDirectory = RunningBeacon.repositoryRoot + "/zones"
        config.udpThreads = 1
        config.httpThreads = 1
        configure(&config)
        let log = Log(level: .info) { [logs] line in logs.append(line) }
        server = try BeaconServer.start(config, log: log)
    }

    deinit { server.stop() }

    var dns: DNSClient { DNSClient(server: server.dnsAddress, timeoutMilliseconds: 2_000) }

    func http() -> HTTPClient { HTTPClient(endpoint: HTTPEndpoint(address: server.httpAddress)) }

    /// Registers and returns the id.
    @discardableResult
    func register(_ body: JSONValue) throws -> String {
        var client = http()
        let (status, reply) = try client.json("POST", "/v1/register", body: body)
        #expect(status == 200, "register answered \(status): \(reply.jsonText)")
        return reply["id"]?.stringValue ?? ""
    }

    func query(_ name: String, _ type: RRType, tcp: Bool = false) throws -> Message {
        try dns.query(DomainName(name), type: type, forceTCP: tcp)
    }

    /// Waits (up to 10 s) until `count` watches are parked: the event a test wants before it changes
    /// the table, instead of a sleep that hopes the watch got there first.
    func waitUntilWatchesParked(_ count: Int) -> Bool {
        for _ in 0..<1_000 {
            var client = http()
            if let body = try? client.send("GET", "/metrics").body,
                String(decoding: body, as: UTF8.self).contains("beacon_http_watches_waiting \(count)\n")
            {
                return true
            }
            Posix.sleep(milliseconds: 10)
        }
        return false
    }

    static let repositoryRoot: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()
}

extension Message {
    var answerTexts: [String] { answers.map { "\($0.name) \($0.type) \($0.rdata.presentation)" } }
}

final class LogCapture: Sendable {
    private let lines = Locked<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
