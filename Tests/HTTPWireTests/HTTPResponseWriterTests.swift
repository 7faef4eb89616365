import HTTPWire
import Testing

@Suite struct HTTPResponseWriterTests {
    func written(_ response: HTTPResponse, includeBody: Bool = true) -> String {
        var buffer: [UInt8] = []
        response.write(into: &buffer, includeBody: includeBody)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test func aJSONResponseIsWrittenWithTypeAndLength() {
        let response = HTTPResponse.json(status: 200, ["id": "abc", "ttl": 30])
        #expect(
            written(response)
                == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
                + "{\"id\":\"abc\",\"ttl\":30}"
        )
    }

    @Test func closingResponsesSayConnectionClose() {
        let text = written(HTTPResponse(status: 400, body: bytes("x"), close: true))
        #expect(text == "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
    }

    @Test func keepAliveIsAnnouncedOnlyWhenAsked() {
        #expect(written(HTTPResponse(status: 200, announceKeepAlive: true)).contains("\r\nConnection: keep-alive\r\n"))
        #expect(!written(HTTPResponse(status: 200)).contains("Connection"))
    }

    @Test func extraHeadersFollowInOrder() {
        let text = written(
            HTTPResponse(
                status: 405, contentType: "text/plain", headers: [("Allow", "GET, POST"), ("X-Index", "7")],
                body: bytes("no")))
        #expect(
            text
                == "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nAllow: GET, POST\r\nX-Index: 7\r\n"
                + "Content-Length: 2\r\n\r\nno")
    }

    @Test(arguments: [
        (200, "OK"), (400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found"),
        (405, "Method Not Allowed"), (408, "Request Timeout"), (411, "Length Required"), (413, "Content Too Large"),
        (431, "Request Header Fields Too Large"), (500, "Internal Server Error"), (503, "Service Unavailable"),
        (505, "HTTP Version Not Supported"), (299, "Success"), (499, "Client Error"), (599, "Server Error"),
        (799, "Server Error"),
    ])
    func statusLinesCarryTheReasonPhrase(status: Int, phrase: String) {
        #expect(written(HTTPResponse(status: status)).hasPrefix("HTTP/1.1 \(status) \(phrase)\r\n"))
    }

    @Test func noContentAndNotModifiedHaveNeitherLengthNorBody() {
        #expect(written(HTTPResponse(status: 204, body: bytes("ignored"))) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(written(HTTPResponse(status: 304, body: bytes("ignored"))) == "HTTP/1.1 304 Not Modified\r\n\r\n")
    }

    @Test func aResponseToHeadKeepsTheLengthButNotTheBody() {
        let text = written(HTTPResponse(status: 200, body: bytes("hello")), includeBody: false)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    }

    @Test func headerValuesCannotInjectLines() {
        let text = written(HTTPResponse(status: 200, headers: [("X-Id", "a\r\nSet-Cookie: evil\u{0}")]))
        #expect(text == "HTTP/1.1 200 OK\r\nX-Id: a  Set-Cookie: evil \r\nContent-Length: 0\r\n\r\n")
    }

    @Test func parseErrorsBecomeClosingJSONErrors() {
        let text = written(HTTPResponse.error(.headTooLarge(limit: 65536)))
        #expect(
            text
                == "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\n"
                + "Content-Length: 48\r\n\r\n{\"error\":\"request head larger than 65536 bytes\"}")
    }

    @Test func continueIsAnInterimResponseWithoutFields() {
        var buffer: [UInt8] = []
        HTTPResponse.writeContinue(into: &buffer)
        #expect(buffer == bytes("HTTP/1.1 100 Continue\r\n\r\n"))
    }

    @Test func writingAppendsToWhatTheBufferHolds() {
        var buffer = bytes("previous|")
        HTTPResponse(status: 404).write(into: &buffer)
        #expect(
            String(decoding: buffer, as: UTF8.self) == "previous|HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    }

    // MARK: - JSON fast path

    /// Bodies around the points where Content-Length gains a digit.
    static let bodySizes = [0, 1, 7, 8, 9, 10, 97, 98, 99, 100, 998, 1000, 12345]

    @Test(arguments: bodySizes)
    func theJSONFastPathWritesTheSameBytesAsTheGeneralWriter(padding: Int) {
        let value: JSONValue = ["id": .string(String(repeating: "x", count: padding)), "n": -3]
        var fast: [UInt8] = bytes("keep")
        HTTPResponse.writeJSON(status: 200, headers: [("X-A", "1")], into: &fast) { json in
            json.object { o in
                o.field("id", String(repeating: "x", count: padding))
                o.field("n", -3)
            }
        }
        var general: [UInt8] = bytes("keep")
        var response = HTTPResponse.json(status: 200, value)
        response.headers = [("X-A", "1")]
        response.write(into: &general)
        #expect(String(decoding: fast, as: UTF8.self) == String(decoding: general, as: UTF8.self))
    }

    @Test func theJSONFastPathCanOmitTheBodyForHead() {
        var buffer: [UInt8] = []
        HTTPResponse.writeJSON(status: 200, close: true, includeBody: false, into: &buffer) { json in
            json.object { $0.field("status", "ok") }
        }
        #expect(
            String(decoding: buffer, as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + "Content-Length: 15\r\n\r\n"
        )
    }

    @Test func aReusedBufferKeepsItsStorageAcrossTenThousandWrites() {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        let base = buffer.withUnsafeBufferPointer { $0.baseAddress }
        let capacity = buffer.capacity
        for i in 0..<10_000 {
            buffer.removeAll(keepingCapacity: true)
            HTTPResponse.writeJSON(status: 200, into: &buffer) { json in
                json.object { o in
                    o.field("id", "orders-create-1")
                    o.field("ttl", 30)
                    o.field("next_heartbeat_in", Double(i % 10) + 0.5)
                }
            }
        }
        #expect(buffer.withUnsafeBufferPointer { $0.baseAddress } == base)
        #expect(buffer.capacity == capacity)
    }

    @Test func writtenResponsesParseBack() throws {
        var buffer: [UInt8] = []
        HTTPResponse.json(status: 201, ["a": [1, 2]], close: true).write(into: &buffer)
        HTTPResponse(status: 204).write(into: &buffer)
        var collector = HTTPResponseCollector()
        collector.append(buffer)
        let first = try #require(try collector.next())
        #expect(first.status == 201)
        #expect(first.header("content-type") == "application/json")
        #expect(first.body == bytes(#"{"a":[1,2]}"#))
        #expect(!first.head.keepAlive)
        let second = try #require(try collector.next())
        #expect(second.status == 204)
        #expect(second.body.isEmpty)
    }
}
