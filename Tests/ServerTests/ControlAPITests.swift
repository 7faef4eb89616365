import HTTPControl
import HTTPWire
import Leases
import PosixIO
import Synchronization
import Testing

/// `ControlAPI.handle` in process, without sockets: routing, tokens and scopes, methods, HEAD,
/// discover, watch arguments, and the heartbeat fast path against the general one (as Hummingbird
/// tests its router).
@Suite struct ControlAPITests {
    final class Clock: Sendable {
        let nanoseconds = Atomic<Int64>(1_000_000_000_000)
        var now: Instant { Instant(nanoseconds: nanoseconds.load(ordering: .relaxed)) }
    }

    let clock = Clock()
    let api: ControlAPI

    init() throws {
        let clock = self.clock
        let tokens = try TokenTable(parsing: "admin-token-1\norders-token orders\n", fileName: "tokens")
        let store = MemoryStore(registry: Registry(), clock: { clock.now })
        api = ControlAPI(
            store: store, tokens: tokens, settings: .init(domain: "local.", maxTTL: 30, negativeTTL: 5, version: "9.9"),
            counters: HTTPCounters(), clock: { clock.now }, metrics: { "m 1\n" })
    }

    static func request(_ method: String, _ target: String, token: String? = nil, body: String = "") -> HTTPRequest {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n"
        if let token { text += "Authorization: Bearer \(token)\r\n" }
        var parser = HTTPRequestParser()
        parser.append(Array((text + "\r\n" + body).utf8))
        return try! parser.next()!
    }

    /// The response, whether answered at once or through `reply` (the in-memory store answers at once).
    func respond(_ request: HTTPRequest) -> HTTPResponse? {
        let replied = Mutex<HTTPResponse?>(nil)
        switch api.handle(request, reply: { response in replied.withLock { $0 = response } }) {
        case .respond(let response): return response
        case .pending: return replied.withLock { $0 }
        case .watch: return nil
        }
    }

    func status(_ method: String, _ target: String, token: String? = nil, body: String = "") -> Int? {
        respond(Self.request(method, target, token: token, body: body))?.status
    }

    /// A response's body up to `next_heartbeat_in`, whose value carries jitter.
    static func body(_ response: String) -> Substring {
        guard let start = response.firstRange(of: "\r\n\r\n")?.upperBound else { return "" }
        let body = response[start...]
        return body.firstRange(of: "next_heartbeat_in").map { body[..<$0.lowerBound] } ?? body
    }

    static let orders = #"{"service":"orders","function":"create","address":"10.0.0.1","port":80,"id":"o-1"}"#
    static let payments = #"{"service":"payments","function":"charge","address":"10.0.0.2","port":80,"id":"p-1"}"#

    @Test func routesAndMethods() {
        #expect(status("GET", "/healthz") == 200)
        #expect(status("GET", "/metrics") == 200)
        #expect(status("GET", "/") == 200 && status("GET", "/ui") == 200)
        #expect(status("GET", "/ui/app.js") == 200 && status("GET", "/ui/style.css") == 200)
        #expect(status("GET", "/ui/other.js") == 404 && status("HEAD", "/ui/style.css") == 200)
        #expect(status("GET", "/nowhere") == 404 && status("GET", "/v1/nowhere") == 404)
        let notAllowed = respond(Self.request("PUT", "/v1/register"))
        #expect(notAllowed?.status == 405)
        #expect(notAllowed?.headers.contains { $0.name == "Allow" && $0.value == "POST" } == true)
        #expect(respond(Self.request("PATCH", "/v1/instances/x"))?.headers.contains { $0.value == "GET, DELETE" } == true)
        #expect(status("HEAD", "/healthz") == 200, "HEAD answers as GET (the session drops the body)")
    }

    @Test func tokensAndScopes() {
        #expect(status("POST", "/v1/register", body: Self.orders) == 401)
        #expect(status("POST", "/v1/register", token: "wrong-token", body: Self.orders) == 401)
        #expect(status("POST", "/v1/register", token: "orders-token", body: Self.payments) == 403)
        #expect(status("POST", "/v1/register", token: "orders-token", body: Self.orders) == 200)
        #expect(status("POST", "/v1/register", token: "admin-token-1", body: Self.payments) == 200)
        #expect(status("POST", "/v1/instances/p-1/heartbeat", token: "orders-token") == 403)
        #expect(status("DELETE", "/v1/instances/p-1", token: "orders-token") == 403)
        // Taking over another service's live id from a scoped token.
        let takeover = #"{"service":"orders","function":"create","address":"10.0.0.3","port":80,"id":"p-1"}"#
        #expect(status("POST", "/v1/register", token: "orders-token", body: takeover) == 403)
        // Reads need no token.
        #expect(status("GET", "/v1/services") == 200)
        #expect(status("GET", "/v1/instances/o-1") == 200)
        #expect(status("POST", "/v1/discover", body: #"{"service":"orders","function":"create"}"#) == 200)
        #expect(status("POST", "/v1/discover", body: #"{"service":"orders"}"#) == 400)
    }

    @Test func watchArguments() {
        #expect(status("GET", "/v1/services/orders/create?wait=5s") == 400, "wait needs index")
        #expect(status("GET", "/v1/services/orders/create?index=x") == 400)
        #expect(status("GET", "/v1/services/orders/create?index=1&wait=11m") == 400)
        #expect(status("GET", "/v1/services/Bad_Name/create") == 400)
        // An index at or above the function's current one parks; a lower one answers at once.
        #expect(status("POST", "/v1/register", token: "admin-token-1", body: Self.orders) == 200)
        let current = api.currentIndex(FunctionKey(service: "orders", function: "create"))
        guard case .watch(let key, let after, let wait) = api.handle(
            Self.request("GET", "/v1/services/orders/create?index=\(current)&wait=2s"), reply: { _ in })
        else {
            Issue.record("a watch at the current index did not park")
            return
        }
        #expect(key == FunctionKey(service: "orders", function: "create") && after == current && wait == 2_000)
        #expect(status("GET", "/v1/services/orders/create?index=\(current - 1)&wait=2s") == 200)
    }

    @Test func theHeartbeatFastPathAnswersAsTheGeneralPathDoes() throws {
        // The fast path serves only servers without tokens: compare on one of those.
        let clock = self.clock
        let open = ControlAPI(
            store: MemoryStore(registry: Registry(), clock: { clock.now }), tokens: nil,
            settings: .init(domain: "local.", maxTTL: 30, negativeTTL: 5), counters: HTTPCounters(),
            clock: { clock.now }, metrics: { "" })
        let registered = Mutex<HTTPResponse?>(nil)
        _ = open.handle(Self.request("POST", "/v1/register", body: Self.orders)) { response in registered.withLock { $0 = response } }
        #expect(registered.withLock { $0 }?.status == 200)
        for target in ["/v1/instances/o-1/heartbeat", "/v1/instances/nobody/heartbeat"] {
            let request = Self.request("POST", target)
            var fast: [UInt8] = []
            #expect(open.answerHeartbeat(request, jitter: 0.5, counts: HTTPCounters().shard(0), into: &fast))
            let general = Mutex<HTTPResponse?>(nil)
            _ = open.handle(request) { response in general.withLock { $0 = response } }
            var generalBytes: [UInt8] = []
            try #require(general.withLock { $0 }).write(into: &generalBytes)
            let fastText = String(decoding: fast, as: UTF8.self)
            let generalText = String(decoding: generalBytes, as: UTF8.self)
            // Same status line and fields; next_heartbeat_in carries jitter, so compare up to it.
            #expect(fastText.split(separator: "\r\n").first == generalText.split(separator: "\r\n").first, "\(target)")
            #expect(Self.body(fastText) == Self.body(generalText), "\(target): \(fastText) / \(generalText)")
        }
    }
}
