import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import PosixIO
import TLS
import TestSupport
import Testing

/// The side channel over TLS, in process: the same API, the same limits, and client certificates.
@Suite("HTTPS side channel", .serialized, .enabled(if: TLSFixtures.available))
struct HTTPSTests {
    static func beacon(clientCA: Bool = false, tokens: String? = nil, configure: (inout ServeConfig) -> Void = { _ in })
        throws -> RunningBeacon
    {
        var tokenPath: String? = nil
        if let tokens {
            tokenPath = "/tmp/beacon-https-tokens-\(Posix.processID)-\(Posix.monotonicNanoseconds())"
            try Files.writeAtomically(tokenPath!, Array(tokens.utf8))
        }
        // The token file is read once, at start.
        defer { if let tokenPath { try? Posix.unlink(tokenPath) } }
        return try RunningBeacon {
            $0.tls = TLSServerSettings(
                certificate: TLSFile(TLSFixtures.path("server.pem"), flag: "--tls-cert"),
                key: TLSFile(TLSFixtures.path("server.key"), flag: "--tls-key"),
                clientCA: clientCA ? TLSFile(TLSFixtures.path("ca.pem"), flag: "--tls-client-ca") : nil)
            $0.tokenFile = tokenPath
            configure(&$0)
        }
    }

    static func client(_ beacon: RunningBeacon, certificate: String? = nil) throws -> HTTPClient {
        let settings = TLSClientSettings(
            ca: TLSFile(TLSFixtures.path("ca.pem"), flag: "--ca"),
            certificate: certificate.map { TLSFile(TLSFixtures.path("\($0).pem"), flag: "--cert") },
            key: certificate.map { TLSFile(TLSFixtures.path("\($0).key"), flag: "--key") })
        return HTTPClient(
            endpoint: HTTPEndpoint(address: beacon.server.httpAddress, isSecure: true),
            tls: try TLSClientContext(settings: settings))
    }

    static let orders: JSONValue = ["service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1"]
    static let payments: JSONValue = ["service": "payments", "function": "pay", "address": "10.0.0.6", "port": 8080, "id": "pay-1"]

    @Test func theAPIWorksOverTLSOnOneKeptAliveConnection() throws {
        let beacon = try Self.beacon()
        var client = try Self.client(beacon)
        #expect(try client.json("GET", "/healthz").status == 200)
        #expect(try client.json("POST", "/v1/register", body: Self.orders).status == 200)
        for _ in 0..<50 {
            let (status, reply) = try client.json("POST", "/v1/instances/web-1/heartbeat")
            #expect(status == 200 && reply["id"]?.stringValue == "web-1")
        }
        let listing = try client.send("GET", "/v1/services/orders/create")
        #expect(listing.status == 200 && String(decoding: listing.body, as: UTF8.self).contains("10.0.0.5"))
        // The status page's script (22 KB since the page moved to files): a response of several TLS records.
        let page = try client.send("GET", "/ui/app.js")
        #expect(page.status == 200 && page.body.count > 16_384, "a response of several TLS records")
        #expect(try beacon.query("create.orders.local", .a).answers.count == 1)
    }

    @Test func plainHTTPToTheTLSPortIsClosedCleanlyAndCounted() throws {
        let beacon = try Self.beacon()
        let stream = try BlockingStream(connectingTo: beacon.server.httpAddress, timeoutMilliseconds: 3_000)
        try stream.write(Array("GET /healthz HTTP/1.1\r\nHost: beacon\r\n\r\n".utf8))
        // An orderly end of stream, not a reset (a reset would throw here) and no HTTP answer.
        #expect(try stream.read() == [])
        var client = try Self.client(beacon)
        let metrics = String(decoding: try client.send("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("beacon_http_tls_handshake_failures_total 1"), "\(metrics)")
    }

    @Test func aHandshakeMustCompleteWithinTheRequestTimeout() throws {
        let beacon = try Self.beacon { $0.httpHeaderTimeoutMilliseconds = 1_000 }
        let started = Posix.monotonicNanoseconds()
        let silent = try BlockingStream(connectingTo: beacon.server.httpAddress, timeoutMilliseconds: 5_000)
        // Half a ClientHello record header, then nothing: a slow handshake.
        try silent.write([0x16, 0x03])
        #expect(try silent.read() == [], "closed by the server")
        let seconds = Double(Posix.monotonicNanoseconds() - started) / 1e9
        #expect(seconds > 0.9 && seconds < 3, "closed at the handshake deadline, not the 60 s idle one: \(seconds) s")
    }

    @Test func aClientCertificateIsRequiredWithAClientCA() throws {
        let beacon = try Self.beacon(clientCA: true)
        var anonymous = try Self.client(beacon)
        #expect(throws: ClientError.self) { try anonymous.json("GET", "/healthz") }
        var expired = try Self.client(beacon, certificate: "client-expired")
        #expect(throws: ClientError.self) { try expired.json("GET", "/healthz") }
        var orders = try Self.client(beacon, certificate: "client")
        #expect(try orders.json("GET", "/healthz").status == 200)
        #expect(try orders.json("POST", "/v1/register", body: Self.orders).status == 200, "no token file: any verified client writes")
    }

    @Test func certificateNamesInTheTokenFileGrantTheirServices() throws {
        let tokens = """
            cert:orders-client orders
            cert:spiffe://beacon.test/orders audit
            admin-token-123
            """
        let beacon = try Self.beacon(clientCA: true, tokens: tokens)
        var orders = try Self.client(beacon, certificate: "client")
        #expect(try orders.json("POST", "/v1/register", body: Self.orders).status == 200, "CN orders-client grants orders")
        #expect(try orders.json("POST", "/v1/register", body: Self.payments).status == 403)
        let audit: JSONValue = ["service": "audit", "function": "log", "address": "10.0.0.7", "port": 8080, "id": "audit-1"]
        #expect(try orders.json("POST", "/v1/register", body: audit).status == 200, "the URI SAN's line adds audit")
        #expect(try orders.json("POST", "/v1/instances/web-1/heartbeat").status == 200)

        var payments = try Self.client(beacon, certificate: "client-payments")
        let (status, reply) = try payments.json("POST", "/v1/register", body: Self.payments)
        #expect(status == 401 && reply["error"]?.stringValue?.contains("payments-client") == true, "\(reply)")
        #expect(try payments.json("DELETE", "/v1/instances/web-1").status == 401)
        // A bearer token is judged alone, whoever's certificate carries it.
        let admin = [("Authorization", "Bearer admin-token-123")]
        #expect(try payments.json("POST", "/v1/register", headers: admin, body: Self.payments).status == 200)
        let name = [("Authorization", "Bearer orders-client")]
        #expect(try payments.json("POST", "/v1/register", headers: name, body: Self.orders).status == 401, "cert: names are no tokens")
        #expect(try payments.json("GET", "/v1/services").status == 200, "reads need nothing")
    }

    @Test func reloadTLSKeepsServingWhenTheFilesAreBad() throws {
        let directory = "/tmp/beacon-https-reload-\(Posix.processID)"
        try Files.makeDirectories(directory)
        for name in ["server.pem", "server.key"] {
            try Files.writeAtomically(directory + "/" + name, try Files.read(TLSFixtures.path(name)))
        }
        let beacon = try RunningBeacon {
            $0.tls = TLSServerSettings(
                certificate: TLSFile(directory + "/server.pem", flag: "--tls-cert"),
                key: TLSFile(directory + "/server.key", flag: "--tls-key"))
        }
        #expect(beacon.server.reloadTLS())
        try Files.writeAtomically(directory + "/server.key", Array("not a key".utf8))
        #expect(!beacon.server.reloadTLS())
        #expect(beacon.logs.all.contains { $0.contains("reload failed, keeping the running certificate: --tls-key") })
        var client = try Self.client(beacon)
        #expect(try client.json("GET", "/healthz").status == 200)
        for name in ["server.pem", "server.key"] { try? Posix.unlink(directory + "/" + name) }
        try? Posix.removeDirectory(directory)
    }
}
