import BeaconRuntime
import Clients
import Glibc
import HTTPWire
import PosixIO
import Primitives
import Testing

/// Issue 14, HTTP side: what a hostile or broken client can make the server hold, and the statuses
/// it must still see. Loopback only; every wait is bounded.
@Suite("Hostile HTTP input", .serialized)
struct HostileHTTPTests {
    /// A watch on pay/charge that stays parked for `wait`: it holds the function's current index
    /// (an index above the table's own is answered at once, as one from before a restart).
    static func watchHead(_ beacon: RunningBeacon, wait: String = "60s") throws -> String {
        var client = beacon.http()
        let index = try client.json("GET", "/v1/services/pay/charge").value["index"]?.numberValue?.asDouble ?? 0
        return "GET /v1/services/pay/charge?index=\(Int(index))&wait=\(wait) HTTP/1.1\r\nHost: t\r\n\r\n"
    }

    func connect(_ beacon: RunningBeacon, timeoutMilliseconds: Int = 3_000) throws -> BlockingStream {
        try BlockingStream(connectingTo: beacon.server.httpAddress, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Reads responses until `count` are complete or the stream ends; stops early on a reset.
    func responses(_ stream: borrowing BlockingStream, count: Int) throws -> [HTTPClientResponse] {
        var collector = HTTPResponseCollector()
        var result: [HTTPClientResponse] = []
        while result.count < count {
            let chunk = try stream.read()
            if chunk.isEmpty { collector.finish() } else { collector.append(chunk) }
            while let response = try collector.next() { result.append(response) }
            if chunk.isEmpty { break }
        }
        return result
    }

    func metric(_ beacon: RunningBeacon, _ name: String) throws -> Int? {
        var client = beacon.http()
        let text = String(decoding: try client.send("GET", "/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// Polls `metric` until it equals `expected` or `milliseconds` pass; the last value seen.
    func waitForMetric(_ beacon: RunningBeacon, _ name: String, equals expected: Int, within milliseconds: Int) throws -> Int? {
        let deadline = Posix.monotonicNanoseconds() + Int64(milliseconds) * 1_000_000
        var value = try metric(beacon, name)
        while value != expected, Posix.monotonicNanoseconds() < deadline {
            Posix.sleep(milliseconds: 20)
            value = try metric(beacon, name)
        }
        return value
    }

    /// Sends `chunks` of 1 MiB, each allowed the stream's timeout to go out; how many went out whole.
    func chunksAccepted(_ stream: borrowing BlockingStream, chunks: Int) -> Int {
        let junk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        for sent in 0..<chunks {
            do { try stream.write(junk) } catch { return sent }
        }
        return chunks
    }

    /// Whether the next read sees the server's close (EOF or reset) rather than data or a timeout.
    func closedByServer(_ stream: borrowing BlockingStream) -> Bool {
        do throws(SystemCallError) {
            return try stream.read().isEmpty
        } catch {
            return error.errno != .timedOut
        }
    }

    // MARK: - Bounded input and output

    @Test func bytesBehindAParkedWatchAreNotReadWithoutLimit() throws {
        let beacon = try RunningBeacon { $0.httpHeaderTimeoutMilliseconds = 1_000 }
        var stream = try connect(beacon, timeoutMilliseconds: 300)
        try stream.write(Array(try Self.watchHead(beacon).utf8))
        #expect(try waitForMetric(beacon, "beacon_http_watches_waiting", equals: 1, within: 2_000) == 1)
        let accepted = chunksAccepted(stream, chunks: 48)
        // Kernel buffers take a few MiB; before the fix the server read all 48.
        #expect(accepted < 16, "the server took \(accepted) MiB behind a parked watch")
        // The junk cannot be a request: it waits no longer than the request timeout, then the
        // connection and its watch go.
        stream.timeoutMilliseconds = 3_000
        let closed = closedByServer(stream)
        #expect(closed)
        #expect(try waitForMetric(beacon, "beacon_http_watches_waiting", equals: 0, within: 2_000) == 0)
    }

    @Test func aCompleteRequestBehindAParkedWatchWaitsItsTurn() throws {
        let beacon = try RunningBeacon { $0.httpHeaderTimeoutMilliseconds = 300 }
        let stream = try connect(beacon)
        let watch = try Self.watchHead(beacon, wait: "1s")
        try stream.write(Array((watch + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").utf8))
        let replies = try responses(stream, count: 2)
        #expect(replies.map(\.status) == [200, 200])
        let bodies = replies.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.first?.contains(#""function":"charge""#) == true)
        #expect(bodies.last?.contains(#""status":"ok""#) == true)
    }

    @Test func aRequestExpectingContinueGetsItOnceItsHeadIsIn() throws {
        let beacon = try RunningBeacon()
        let stream = try connect(beacon, timeoutMilliseconds: 500)
        let body = #"{"service":"a","function":"b","address":"10.0.0.1","port":1}"#
        try stream.write(Array(("POST /v1/register HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n").utf8))
        // Within the read timeout, so before a client would give up waiting and send the body anyway.
        #expect(String(decoding: try stream.read(), as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        try stream.write(Array(body.utf8))
        #expect(try responses(stream, count: 1).first?.status == 200)
    }

    @Test func aContinueForARequestReadAheadWaitsForTheResponseBeforeIt() throws {
        let beacon = try RunningBeacon()
        let stream = try connect(beacon)
        let body = #"{"service":"a","function":"b","address":"10.0.0.1","port":1}"#
        let watch = try Self.watchHead(beacon, wait: "300ms")
        let register = "POST /v1/register HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n"
        try stream.write(Array((watch + register).utf8))
        var received = ""
        while !received.contains("HTTP/1.1 100 Continue\r\n\r\n") {
            let chunk = try stream.read()
            if chunk.isEmpty { break }
            received += String(decoding: chunk, as: UTF8.self)
        }
        // The interim response belongs to the second request: it must follow the first one's answer.
        #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(received.hasSuffix("HTTP/1.1 100 Continue\r\n\r\n"))
        try stream.write(Array(body.utf8))
        #expect(try responses(stream, count: 1).first?.status == 200)
    }

    @Test func pipelinedRequestsWhoseResponsesAreUnreadStopBeingAnswered() throws {
        let beacon = try RunningBeacon()
        let stream = try connect(beacon, timeoutMilliseconds: 2_000)
        let count = 2_000
        let request = Array("GET /ui/app.js HTTP/1.1\r\nHost: t\r\n\r\n".utf8)
        try? stream.write(Array([[UInt8]](repeating: request, count: count).joined()))
        Posix.sleep(milliseconds: 500)
        // Each answer is the status page's 22 KB script: those in memory or kernel buffers, not all 2,000.
        let answered = try #require(try metric(beacon, #"beacon_http_requests_total{status="200"}"#))
        #expect(answered < 400, "\(answered) of \(count) answered with none read")
        // Reading them lets the rest through, in order.
        let replies = try responses(stream, count: count)
        #expect(replies.count == count)
        #expect(replies.allSatisfy { $0.status == 200 })
    }

    // MARK: - Watches and their connections

    @Test func watchesLeaveWithTheirConnections() throws {
        let beacon = try RunningBeacon()
        final class Client {
            let stream: BlockingStream
            init(_ stream: consuming BlockingStream) { self.stream = stream }
        }
        var clients: [Client] = []
        for index in 0..<40 {
            let stream = try connect(beacon)
            // Every other client pipelines a request behind its watch, so the server has stopped
            // reading from it: its close must be seen all the same.
            let behind = index % 4 < 2 ? "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" : ""
            try stream.write(Array((try Self.watchHead(beacon) + behind).utf8))
            clients.append(Client(stream))
        }
        #expect(try waitForMetric(beacon, "beacon_http_watches_waiting", equals: 40, within: 3_000) == 40)
        // Half reset (SO_LINGER 0), half close normally.
        for (index, client) in clients.enumerated() where index % 2 == 0 {
            var reset = linger(l_onoff: 1, l_linger: 0)
            client.stream.descriptor.withUnsafeDescriptor { fd in
                _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
            }
        }
        clients.removeAll()
        #expect(try waitForMetric(beacon, "beacon_http_watches_waiting", equals: 0, within: 2_000) == 0)
        var client = beacon.http()
        #expect(try client.json("GET", "/healthz").status == 200)
    }

    // MARK: - Statuses a client must still see

    @Test func aRequestThatTimesOutIsAnswered408() throws {
        let beacon = try RunningBeacon { $0.httpHeaderTimeoutMilliseconds = 400 }
        let stream = try connect(beacon)
        try stream.write(Array("GET /healthz HTTP/1.1\r\nHost: slow\r\n".utf8))
        let replies = try responses(stream, count: 1)
        #expect(replies.first?.status == 408)
        let body = replies.first.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        #expect(body.contains("request timeout"))
        let closed = try stream.read().isEmpty
        #expect(closed, "closed after the 408")
        #expect(try metric(beacon, #"beacon_http_requests_total{status="408"}"#) == 1)
    }

    @Test(arguments: [
        ("POST /v1/register HTTP/1.1\r\nHost: t\r\nContent-Length: 3000000\r\n\r\n", 413),
        ("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: ", 431),
    ])
    func anOversizeStatusReachesAClientThatIsStillSending(head: String, status: Int) throws {
        let beacon = try RunningBeacon()
        let stream = try connect(beacon, timeoutMilliseconds: 5_000)
        // Head and 8 MiB (more than socket buffers hold) in one go, read only afterwards, as a naive
        // client does: the server answers after the head, and a reset while the client still sends
        // fails its send, so it never reads the status (Python's http.client, curl).
        try stream.write(Array(head.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 8 << 20))
        let replies = try responses(stream, count: 1)
        #expect(replies.first?.status == status)
    }

    // MARK: - Routing and numbers

    @Test func anEncodedSlashStaysInsideItsSegment() throws {
        let beacon = try RunningBeacon()
        try beacon.register(["service": "a", "function": "b", "address": "10.0.0.1", "port": 1, "id": "web-1"])
        var client = beacon.http()
        #expect(try client.send("POST", "/v1/instances/web-1%2Fheartbeat").status == 405)
        #expect(try client.send("GET", "/v1/instances/web-1%2Fheartbeat").status == 404)
        #expect(try client.send("DELETE", "/v1/instances/web-1%2F").status == 404)
        // Escaped label characters decode into the id as usual.
        #expect(try client.send("POST", "/v1/instances/web%2D1/heartbeat").status == 200)
        #expect(try client.send("GET", "/v1/instances/web-1").status == 200)
    }

    @Test func numbersInBodiesMustBeWrittenAsIntegers() throws {
        let beacon = try RunningBeacon()
        var client = beacon.http()
        let base = #""service":"a","function":"b","address":"10.0.0.1""#
        for (fields, field) in [
            (#""port":1e2"#, "port"), (#""port":100.0"#, "port"), (#""port":80,"ttl":3E1"#, "ttl"),
            (#""port":80,"weight":1.0"#, "weight"), (#""port":80,"priority":0e0"#, "priority"),
        ] {
            let reply = try client.send("POST", "/v1/register", body: Array("{\(base),\(fields)}".utf8))
            #expect(reply.status == 400, "\(fields)")
            #expect(String(decoding: reply.body, as: UTF8.self).hasPrefix(#"{"error":"\#(field):"#), "\(fields)")
        }
        #expect(try client.send("POST", "/v1/register", body: Array("{\(base),\"port\":100}".utf8)).status == 200)
    }
}
