import HTTPWire
import Testing

/// Malformed and oversized requests: each maps to its error and status whatever the chunking.
@Suite struct HTTPRequestErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var raw: String
        var error: HTTPParseError
        var testDescription: String { String(reflecting: raw) }
    }

    static let malformed: [Case] = [
        // Request line (RFC 9112 §3).
        Case(raw: "GET /\r\n\r\n", error: .badRequestLine),
        Case(raw: "GET  / HTTP/1.1\r\n\r\n", error: .badRequestLine),
        Case(raw: "GET / HTTP/1.1 \r\n\r\n", error: .badRequestLine),
        Case(raw: " GET / HTTP/1.1\r\n\r\n", error: .badRequestLine),
        Case(raw: "GET / http/1.1\r\n\r\n", error: .badRequestLine),
        Case(raw: "GET / HTTP/1.10\r\n\r\n", error: .badRequestLine),
        Case(raw: "GET / HTTP/1\r\n\r\n", error: .badRequestLine),
        Case(raw: "GE(T / HTTP/1.1\r\n\r\n", error: .badRequestLine),
        Case(raw: "GET\t/ HTTP/1.1\r\n\r\n", error: .controlCharacter),
        Case(raw: "GET /a\u{0}b HTTP/1.1\r\n\r\n", error: .controlCharacter),
        Case(raw: "GET /\r HTTP/1.1\r\n\r\n", error: .bareCarriageReturn),
        Case(raw: "GET /é HTTP/1.1\r\n\r\n", error: .badRequestLine),
        // Version (RFC 9110 §15.6.6).
        Case(raw: "GET / HTTP/2.0\r\n\r\n", error: .unsupportedVersion),
        Case(raw: "GET / HTTP/0.9\r\n\r\n", error: .unsupportedVersion),
        Case(raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", error: .unsupportedVersion),
        // Target (RFC 9112 §3.2, RFC 3986 §2.1).
        Case(raw: "GET v1/services HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET ftp://host/x HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET http:///x HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a%zz HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a%2 HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a%00 HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a%FF HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a#frag HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a?x=%C3%28 HTTP/1.1\r\n\r\n", error: .badTarget),
        Case(raw: "GET /a?x%=1 HTTP/1.1\r\n\r\n", error: .badTarget),
        // Field lines (RFC 9112 §5).
        Case(raw: "GET / HTTP/1.1\r\nHost beacon\r\n\r\n", error: .badHeader),
        Case(raw: "GET / HTTP/1.1\r\n: value\r\n\r\n", error: .badHeader),
        Case(raw: "GET / HTTP/1.1\r\nBad\"Name: x\r\n\r\n", error: .badHeader),
        Case(raw: "GET / HTTP/1.1\r\nHost : beacon\r\n\r\n", error: .whitespaceBeforeColon),
        Case(raw: "GET / HTTP/1.1\r\nHost\t: beacon\r\n\r\n", error: .whitespaceBeforeColon),
        Case(raw: "GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", error: .obsoleteLineFolding),
        Case(raw: "GET / HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n", error: .obsoleteLineFolding),
        Case(raw: "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", error: .bareCarriageReturn),
        Case(raw: "GET / HTTP/1.1\r\nX-A: 1\r\r\n\r\n", error: .bareCarriageReturn),
        Case(raw: "GET / HTTP/1.1\r\nX\rA: 1\r\n\r\n", error: .bareCarriageReturn),
        Case(raw: "GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n", error: .controlCharacter),
        Case(raw: "GET / HTTP/1.1\r\nX-A: a\u{7F}\r\n\r\n", error: .controlCharacter),
        Case(raw: "GET / HTTP/1.1\r\nX-A: \u{1B}[31m\r\n\r\n", error: .controlCharacter),
        // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", error: .badContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", error: .badContentLength),
        Case(
            raw: "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", error: .conflictingContentLength),
        Case(raw: "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", error: .conflictingContentLength),
        // Transfer-Encoding on a request (RFC 9112 §6.1).
        Case(
            raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", error: .lengthRequired),
        Case(
            raw: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello", error: .lengthRequired),
    ]

    @Test(arguments: malformed)
    func malformedRequestsFailWithTheirError(_ testCase: Case) {
        let parse = dripFeed(testCase.raw)
        #expect(parse.requests.isEmpty)
        #expect(parse.error == testCase.error)
    }

    @Test func eachErrorMapsToItsStatus() {
        let expected: [(HTTPParseError, Int)] = [
            (.badRequestLine, 400), (.badTarget, 400), (.badHeader, 400), (.whitespaceBeforeColon, 400),
            (.obsoleteLineFolding, 400), (.bareCarriageReturn, 400), (.controlCharacter, 400),
            (.badContentLength, 400), (.conflictingContentLength, 400), (.lengthRequired, 411),
            (.bodyTooLarge(limit: 1), 413), (.headTooLarge(limit: 1), 431), (.unsupportedVersion, 505),
            (.badStatusLine, 502), (.badChunk, 502), (.chunkTooLarge(limit: 1), 502), (.truncated, 502),
        ]
        for (error, status) in expected { #expect(error.status == status, "\(error)") }
        #expect(HTTPParseError.headTooLarge(limit: 65536).reason == "request head larger than 65536 bytes")
        #expect(HTTPParseError.bodyTooLarge(limit: 1_048_576).description == "413 body larger than 1048576 bytes")
    }

    /// Errors are built on the path of every bad connection, so they carry no strings (STYLE.md 3.4 rule 11).
    @Test func parseErrorsCarryNoStrings() {
        #expect(MemoryLayout<HTTPParseError>.size <= 9)
    }

    @Test func requestsBeforeAMalformedOneAreStillDelivered() {
        let parse = dripFeed("GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/9.9\r\n\r\nGET /never HTTP/1.1\r\n\r\n")
        #expect(parse.requests.map(\.path) == ["/ok"])
        #expect(parse.error == .unsupportedVersion)
    }

    @Test func aFailedParserStaysFailedAndDropsInput() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("GET / HTTP/1.1\r\nHost : x\r\n\r\n"))
        #expect(throws: HTTPParseError.whitespaceBeforeColon) { try parser.next() }
        let held = parser.bufferedByteCount
        parser.append(bytes("GET / HTTP/1.1\r\n\r\n"))
        #expect(parser.bufferedByteCount == held)
        #expect(throws: HTTPParseError.whitespaceBeforeColon) { try parser.next() }
        #expect(!parser.isIdle)
    }

    // MARK: - Limits

    /// A GET whose head (request line through the empty line) is exactly `size` bytes.
    static func request(headBytes size: Int) -> String {
        let fixed = "GET / HTTP/1.1\r\nX-Pad: \r\n\r\n".utf8.count
        return "GET / HTTP/1.1\r\nX-Pad: \(String(repeating: "p", count: size - fixed))\r\n\r\n"
    }

    @Test func aHeadExactlyAtTheLimitIsAccepted() {
        let limits = HTTPRequestParser.Limits(maxHeadBytes: 300)
        let text = Self.request(headBytes: 300)
        #expect(text.utf8.count == 300)
        let parse = dripFeed(text, limits: limits)
        #expect(parse.error == nil)
        #expect(parse.requests.count == 1)
    }

    @Test func aHeadOneByteOverTheLimitIs431() {
        let limits = HTTPRequestParser.Limits(maxHeadBytes: 300)
        let parse = dripFeed(Self.request(headBytes: 301), limits: limits)
        #expect(parse.error == .headTooLarge(limit: 300))
        #expect(parse.error?.status == 431)
    }

    @Test func theDefaultHeadLimitIs64KiB() {
        #expect(dripFeed(Self.request(headBytes: 65536)).requests.count == 1)
        #expect(dripFeed(Self.request(headBytes: 65537)).error == .headTooLarge(limit: 65536))
    }

    @Test func anEndlessHeadIs431OnceTheLimitIsBufferedWithoutWaitingForItsEnd() throws {
        var parser = HTTPRequestParser(limits: .init(maxHeadBytes: 100))
        parser.append(bytes("GET / HTTP/1.1\r\nX-A: " + String(repeating: "a", count: 70)))
        parser.append(bytes(String(repeating: "a", count: 8)))
        #expect(parser.bufferedByteCount == 99)
        #expect(try parser.next() == nil)
        // 100 bytes without an empty line: the head cannot end within the limit any more.
        parser.append(bytes("a"))
        #expect(throws: HTTPParseError.headTooLarge(limit: 100)) { try parser.next() }
    }

    @Test func leadingEmptyLinesCountTowardsTheHeadLimit() {
        let limits = HTTPRequestParser.Limits(maxHeadBytes: 300)
        let parse = dripFeed(String(repeating: "\r\n", count: 200), limits: limits)
        #expect(parse.error == .headTooLarge(limit: 300))
    }

    @Test func aBodyOverTheLimitIs413BeforeAnyBodyByteArrives() throws {
        var parser = HTTPRequestParser(limits: .init(maxBodyBytes: 1000))
        parser.append(bytes("POST /v1/register HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"))
        #expect(throws: HTTPParseError.bodyTooLarge(limit: 1000)) { try parser.next() }
        #expect(dripFeed("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n").error == .bodyTooLarge(limit: 1_048_576))
    }

    @Test func aBodyExactlyAtTheLimitIsAccepted() throws {
        let body = String(repeating: "b", count: 1000)
        let parse = dripFeed(
            "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n\(body)", limits: .init(maxBodyBytes: 1000))
        #expect(parse.requests.first?.body.count == 1000)
        #expect(parse.error == nil)
    }

    @Test func theDefaultBodyLimitOf1MiBIsAccepted() throws {
        let body = [UInt8](repeating: 0x61, count: 1 << 20)
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT /blob HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n"))
        #expect(try parser.next() == nil)
        for start in stride(from: 0, to: body.count, by: 4096) { parser.append(Array(body[start..<start + 4096])) }
        #expect(try parser.next()?.body == body)
    }
}
