import Primitives
import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import Leases
import PosixIO
import Synchronization
import Testing

@Suite("End to end: the HTTP side channel", .serialized)
struct EndToEndHTTPTests {
    /// Sends raw bytes on one connection and returns everything read until `responses` replies are complete.
    func raw(_ beacon: RunningBeacon, _ bytes: String, responses: Int) throws -> [HTTPClientResponse] {
        let stream = try BlockingStream(connectingTo: beacon.server.httpAddress, timeoutMilliseconds: 3_000)
        try stream.write(Array(bytes.utf8))
        var collector = HTTPResponseCollector()
        var result: [HTTPClientResponse] = []
        while result.count < responses {
            let chunk = try stream.read()
            if chunk.isEmpty { collector.finish() } else { collector.append(chunk) }
            while let response = try collector.next() { result.append(response) }
            if chunk.isEmpty { break }
        }
        return result
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
        let beacon = try RunningBeacon()
        let body = #"{"service":"a","function":"b","address":"10.0.0.1","port":1,"id":"x1"}"#
        let requests = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            + "POST /v1/register HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            + "GET /v1/instances/x1 HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        let replies = try raw(beacon, requests, responses: 4)
        #expect(replies.map(\.status) == [200, 200, 200, 404])
        #expect(String(decoding: replies[2].body, as: UTF8.self).contains(#""id":"x1""#))
    }

    @Test func malformedAndOversizedRequestsGetTheirStatusAndTheServerKeepsServing() throws {
        let beacon = try RunningBeacon()
        #expect(try raw(beacon, "NONSENSE\r\n\r\n", responses: 1).first?.status == 400)
        let longHeader = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n"
        #expect(try raw(beacon, longHeader, responses: 1).first?.status == 431)
        #expect(try raw(beacon, "POST /v1/register HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", responses: 1).first?.status == 413)
        #expect(try raw(beacon, "DELETE /v1/services HTTP/1.1\r\n\r\n", responses: 1).first?.status == 405)
        var client = beacon.http()
        #expect(try client.json("GET", "/healthz").status == 200)
    }

    @Test func validationErrorsNameTheField() throws {
        let beacon = try RunningBeacon()
        var client = beacon.http()
        let cases: [(JSONValue, String)] = [
            (["service": "a", "function": "b", "address": "10.0.0.1", "port": 8080.5], "port"),
            (["service": "a", "function": "b", "address": "10.0.0.1", "port": 70000], "port"),
            (["service": "A_B", "function": "b", "address": "10.0.0.1", "port": 1], "service"),
            (["service": "a", "function": "b", "address": "10.0.0.300", "port": 1], "address"),
            (["service": "a", "function": "b", "address": "10.0.0.1", "port": 1, "ttl": 0], "ttl"),
            (["service": "a", "function": "b", "address": "10.0.0.1", "port": 1, "id": ""], "id"),
            (["service": "a", "function": "b", "address": "10.0.0.1", "port": 1,
              "meta": ["k": .string(String(repeating: "v", count: 254))]], "meta"),
            (["function": "b", "address": "10.0.0.1", "port": 1], "service"),
        ]
        for (body, field) in cases {
            let (status, reply) = try client.json("POST", "/v1/register", body: body)
            #expect(status == 400, "\(body.jsonText)")
            #expect(reply["error"]?.stringValue?.hasPrefix(field) == true, "\(reply.jsonText)")
        }
    }

    @Test func theSameEndpointRegisteredTwiceIsOneInstance() throws {
        let beacon = try RunningBeacon()
        let body: JSONValue = ["service": "a", "function": "b", "address": "10.0.0.1", "port": 80]
        let first = try beacon.register(body)
        let second = try beacon.register(body)
        #expect(first == second)
        var client = beacon.http()
        let (_, listing) = try client.json("GET", "/v1/services/a/b")
        #expect(listing["instances"]?.arrayValue?.count == 1)
    }

    @Test func aWatchReturnsAsSoonAsTheFunctionChanges() throws {
        let beacon = try RunningBeacon()
        var client = beacon.http()
        let (_, before) = try client.json("GET", "/v1/services/pay/charge")
        let index = try #require(before["index"]?.numberValue?.asExactInt)
        #expect(before["instances"]?.arrayValue?.isEmpty == true)
        let address = beacon.server.httpAddress
        let started = Posix.monotonicNanoseconds()
        let result = Locked<(Int, JSONValue)?>(nil)
        let watcher = Threads.start(name: "watch") {
            var watchClient = HTTPClient(endpoint: HTTPEndpoint(address: address), timeoutMilliseconds: 20_000)
            let reply = try? watchClient.json("GET", "/v1/services/pay/charge?index=\(index)&wait=15s")
            result.withLock { $0 = reply }
        }
        #expect(beacon.waitUntilWatchesParked(1), "the watch parked")
        try beacon.register(["service": "pay", "function": "charge", "address": "10.0.0.9", "port": 443])
        watcher.join()
        let elapsed = Double(Posix.monotonicNanoseconds() - started) / 1e9
        let (status, after) = try #require(result.withLock { $0 })
        #expect(status == 200)
        #expect((after["index"]?.numberValue?.asExactInt ?? 0) > index)
        #expect(after["instances"]?.arrayValue?.count == 1)
        #expect(elapsed < 5, "the watch took \(elapsed) s")
    }

    @Test func theServicesListingCanBeWatchedToo() throws {
        let beacon = try RunningBeacon()
        var client = beacon.http()
        let (_, before) = try client.json("GET", "/v1/services")
        let index = try #require(before["index"]?.numberValue?.asExactInt)
        let address = beacon.server.httpAddress
        let result = Locked<JSONValue?>(nil)
        let watcher = Threads.start(name: "watch") {
            var watchClient = HTTPClient(endpoint: HTTPEndpoint(address: address), timeoutMilliseconds: 20_000)
            let reply = try? watchClient.json("GET", "/v1/services?index=\(index)&wait=15s")
            result.withLock { $0 = reply?.value }
        }
        #expect(beacon.waitUntilWatchesParked(1), "the watch parked")
        try beacon.register(["service": "new", "function": "f", "address": "10.0.0.9", "port": 443])
        watcher.join()
        let after = try #require(result.withLock { $0 })
        #expect((after["index"]?.numberValue?.asExactInt ?? 0) > index)
        #expect(after["services"]?[0]?["service"]?.stringValue == "new")
    }

    @Test func aWatchWithNoChangeAnswersAfterItsWait() throws {
        let beacon = try RunningBeacon()
        var client = beacon.http()
        let (_, before) = try client.json("GET", "/v1/services/quiet/f")
        let index = try #require(before["index"]?.numberValue?.asExactInt)
        let started = Posix.monotonicNanoseconds()
        let (status, after) = try client.json("GET", "/v1/services/quiet/f?index=\(index)&wait=300ms")
        let elapsed = Double(Posix.monotonicNanoseconds() - started) / 1e9
        #expect(status == 200)
        #expect(after["index"]?.numberValue?.asExactInt == index)
        #expect(elapsed >= 0.29 && elapsed < 2)
    }

    @Test func heartbeatRenewsAndSuggestsTheNextOne() throws {
        let beacon = try RunningBeacon()
        let id = try beacon.register(["service": "a", "function": "b", "address": "10.0.0.1", "port": 1, "ttl": 30])
        var client = beacon.http()
        let (status, reply) = try client.json("POST", "/v1/instances/\(id)/heartbeat")
        #expect(status == 200)
        let next = try #require(reply["next_heartbeat_in"]?.numberValue?.asDouble)
        #expect(next >= 9 && next <= 11)
        #expect(try client.json("POST", "/v1/instances/unknown/heartbeat").status == 404)
    }

    @Test func tokensGuardWritesButNotReads() throws {
        let path = "/tmp/beacon-tokens-\(Posix.processID)"
        try Files.writeAtomically(path, Array("# ops\nsecret-all-1\nsecret-orders orders\n".utf8))
        let beacon = try RunningBeacon { $0.tokenFile = path }
        var client = beacon.http()
        let body: JSONValue = ["service": "orders", "function": "f", "address": "10.0.0.1", "port": 1]
        #expect(try client.json("POST", "/v1/register", body: body).status == 401)
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer wrong-token")], body: body).status == 401)
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer secret-orders")], body: body).status == 200)
        let other: JSONValue = ["service": "payments", "function": "f", "address": "10.0.0.1", "port": 1]
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer secret-orders")], body: other).status == 403)
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer secret-all-1")], body: other).status == 200)
        #expect(try client.json("GET", "/v1/services").status == 200)
        #expect(try beacon.query("f.orders.local.", .a).answers.count == 1)
    }

    /// The reproduction from the issue: a token scoped to orders cannot take over a payments id, and
    /// the rightful owner keeps heartbeating and deregistering it.
    @Test func aScopedTokenCannotTakeOverAnotherServicesInstance() throws {
        let path = "/tmp/beacon-tokens-takeover-\(Posix.processID)"
        try Files.writeAtomically(path, Array("orders-token orders\npay-token payments\n".utf8))
        let beacon = try RunningBeacon { $0.tokenFile = path }
        var client = beacon.http()
        let orders = [("Authorization", "Bearer orders-token")]
        let pay = [("Authorization", "Bearer pay-token")]
        let payment: JSONValue = ["service": "payments", "function": "charge", "address": "10.0.0.2", "port": 1, "id": "pay-1"]
        #expect(try client.json("POST", "/v1/register", headers: pay, body: payment).status == 200)
        let takeover: JSONValue = ["service": "orders", "function": "create", "address": "10.0.0.3", "port": 1, "id": "pay-1"]
        let (status, body) = try client.json("POST", "/v1/register", headers: orders, body: takeover)
        #expect(status == 403)
        #expect(body["error"]?.stringValue?.contains("payments") == true)
        #expect(try beacon.query("charge.payments.local.", .a).answers.count == 1)
        #expect(try beacon.query("create.orders.local.", .a).rcode == .nxDomain)
        #expect(try client.json("POST", "/v1/instances/pay-1/heartbeat", headers: pay).status == 200)
        #expect(try client.json("DELETE", "/v1/instances/pay-1", headers: orders).status == 403)
        #expect(try client.json("DELETE", "/v1/instances/pay-1", headers: pay).status == 200)
        // Once it is gone, the id is free for anyone allowed to write the new service.
        #expect(try client.json("POST", "/v1/register", headers: orders, body: takeover).status == 200)
    }

    /// `#` starts a comment only at the start of a line or after whitespace.
    @Test func aTokenMayContainAHash() throws {
        let path = "/tmp/beacon-tokens-hash-\(Posix.processID)"
        try Files.writeAtomically(path, Array("# tokens\nci-token#2026 orders # the CI's token\n".utf8))
        let beacon = try RunningBeacon { $0.tokenFile = path }
        var client = beacon.http()
        let body: JSONValue = ["service": "orders", "function": "f", "address": "10.0.0.1", "port": 1]
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer ci-token#2026")], body: body).status == 200)
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer ci-token")], body: body).status == 401)
        let other: JSONValue = ["service": "payments", "function": "f", "address": "10.0.0.1", "port": 1]
        #expect(try client.json("POST", "/v1/register", headers: [("Authorization", "Bearer ci-token#2026")], body: other).status == 403)
    }

    @Test func metricsCountQueriesAndRegistrations() throws {
        let beacon = try RunningBeacon()
        try beacon.register(["service": "a", "function": "b", "address": "10.0.0.1", "port": 1])
        _ = try beacon.query("b.a.local.", .srv)
        var client = beacon.http()
        let text = String(decoding: try client.send("GET", "/metrics").body, as: UTF8.self)
        #expect(text.contains("beacon_registrations_total 1\n"))
        #expect(text.contains("beacon_dns_queries_total{type=\"SRV\"} 1\n"))
        #expect(text.contains("beacon_instances 1\n"))
    }
}
