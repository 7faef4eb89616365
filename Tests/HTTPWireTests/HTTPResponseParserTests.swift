import HTTPWire
import Testing

@Suite struct HTTPResponseParserTests {
    static let chunked = bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "d\r\n{\"result\":1}\n\r\n"
            + "1A;name=value\r\n{\"result\":{\"events\":[2]}}\n\r\n"
            + "0\r\nX-Trailer: t\r\n\r\n")

    @Test(arguments: Feeding.all)
    func chunkedBodiesYieldEachChunkWhateverTheFeeding(_ feeding: Feeding) throws {
        let (events, error) = responseEvents(Self.chunked, feeding: feeding)
        #expect(error == nil)
        #expect(events.count == 4)
        guard case .head(let head) = events.first else {
            Issue.record("no head first")
            return
        }
        #expect(head.status == 200)
        #expect(head.reason == "OK")
        #expect(head.framing == .chunked)
        #expect(head.keepAlive)
        #expect(events.dropFirst().first == .body(bytes("{\"result\":1}\n")))
        #expect(events.dropFirst(2).first == .body(bytes("{\"result\":{\"events\":[2]}}\n")))
        #expect(events.last == .end)
    }

    @Test func streamingChunksComeOutAsSoonAsEachIsComplete() throws {
        var parser = HTTPResponseParser()
        parser.append(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
        guard case .head = try parser.next() else {
            Issue.record("expected the head")
            return
        }
        #expect(try parser.next() == nil)
        // An endless watch: a thousand chunks, each delivered before the next is sent, never a last chunk.
        for i in 0..<1000 {
            let payload = "{\"n\":\(i)}\n"
            let wire = bytes(String(payload.utf8.count, radix: 16) + "\r\n" + payload + "\r\n")
            parser.append(Array(wire.dropLast()))
            #expect(try parser.next() == nil, "a chunk is not complete before its CRLF")
            parser.append([0x0A])
            #expect(try parser.next() == .body(bytes(payload)))
            #expect(try parser.next() == nil)
        }
    }

    @Test(arguments: Feeding.all)
    func contentLengthBodiesArriveWholeAndResponsesCanFollow(_ feeding: Feeding) {
        let wire =
            bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 17\r\n\r\n{\"error\":\"gone\"}\n")
            + bytes("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        let (events, error) = responseEvents(wire, feeding: feeding)
        #expect(error == nil)
        #expect(events.count == 5)
        #expect(events.dropFirst().first == .body(bytes("{\"error\":\"gone\"}\n")))
        #expect(events.dropFirst(2).first == .end)
        guard case .head(let second) = events.dropFirst(3).first else {
            Issue.record("no second head")
            return
        }
        #expect(second.status == 200)
        #expect(second.framing == .length(0))
        #expect(events.last == .end)
    }

    @Test func aBodyWithoutLengthRunsUntilTheConnectionCloses() throws {
        var parser = HTTPResponseParser()
        parser.append(bytes("HTTP/1.0 200 OK\r\n\r\nhello "))
        guard case .head(let head) = try parser.next() else {
            Issue.record("expected the head")
            return
        }
        #expect(head.framing == .untilClose)
        #expect(!head.keepAlive)
        #expect(try parser.next() == .body(bytes("hello ")))
        #expect(try parser.next() == nil)
        parser.append(bytes("world"))
        #expect(try parser.next() == .body(bytes("world")))
        parser.finish()
        #expect(try parser.next() == .end)
        #expect(try parser.next() == nil)
    }

    @Test func aTransferCodingOtherThanChunkedLastMeansUntilClose() throws {
        let (events, _) = responseEvents(
            bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 2\r\n\r\nabc"), finish: true)
        guard case .head(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.framing == .untilClose)
        #expect(events.dropFirst() == [.body(bytes("abc")), .end])
    }

    @Test func responsesWithoutContentHaveNoBodyWhateverTheirFields() throws {
        var parser = HTTPResponseParser()
        parser.append(bytes("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"))
        parser.append(bytes("HTTP/1.1 304 Not Modified\r\n\r\n"))
        var events: [HTTPResponseEvent] = []
        while let event = try parser.next() { events.append(event) }
        #expect(events.count == 4)
        #expect(events[1] == .end && events[3] == .end)
        parser.expectingResponseToHEAD = true
        parser.append(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"))
        guard case .head(let head) = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.framing == .none)
        #expect(try parser.next() == .end)
        #expect(!parser.expectingResponseToHEAD)
    }

    @Test func theCollectorSkipsContinueAndAssemblesChunks() throws {
        var collector = HTTPResponseCollector()
        for byte in bytes("HTTP/1.1 100 Continue\r\n\r\n") + Self.chunked { collector.append([byte]) }
        let response = try #require(try collector.next())
        #expect(response.status == 200)
        #expect(response.body == bytes("{\"result\":1}\n{\"result\":{\"events\":[2]}}\n"))
        #expect(try collector.next() == nil)
    }

    @Test func theCollectorCapsTheBody() throws {
        var collector = HTTPResponseCollector(maxBodyBytes: 20)
        collector.append(Self.chunked)
        #expect(throws: HTTPParseError.bodyTooLarge(limit: 20)) { try collector.next() }
        #expect(throws: HTTPParseError.bodyTooLarge(limit: 20)) { try collector.next() }
    }

    @Test func aStatusLineWithoutReasonIsAccepted() throws {
        let (events, error) = responseEvents(bytes("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"))
        #expect(error == nil)
        guard case .head(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.status == 200 && head.reason == "")
    }

    @Test func aCloseBetweenResponsesIsClean() throws {
        let (events, error) = responseEvents(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), finish: true)
        #expect(error == nil)
        #expect(events.count == 3)
    }

    struct Broken: CustomTestStringConvertible, Sendable {
        var raw: String
        var finish: Bool
        var error: HTTPParseError
        init(_ raw: String, _ finish: Bool, _ error: HTTPParseError) {
            self.raw = raw
            self.finish = finish
            self.error = error
        }
        var testDescription: String { String(reflecting: raw) + (finish ? " then EOF" : "") }
    }

    static let broken: [Broken] = [
        Broken("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, .truncated),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true, .truncated),
        Broken("HTTP/1.1 200 OK\r\nContent-Le", true, .truncated),
        Broken("HTTP/1.1 2000 OK\r\n\r\n", false, .badStatusLine),
        Broken("HTTP/1.1 20 OK\r\n\r\n", false, .badStatusLine),
        Broken("HTTP/1.1 099 Odd\r\n\r\n", false, .badStatusLine),
        Broken("ICY 200 OK\r\n\r\n", false, .badStatusLine),
        Broken("HTTP/1.1 200OK\r\n\r\n", false, .badStatusLine),
        Broken("HTTP/2.0 200 OK\r\n\r\n", false, .unsupportedVersion),
        Broken("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", false, .whitespaceBeforeColon),
        Broken("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", false, .conflictingContentLength),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, .badChunk),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false, .badChunk),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n", false, .badChunk),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", false, .badChunk),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX", false, .badChunk),
        Broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1001\r\n", false, .chunkTooLarge(limit: 4096)),
        Broken(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", false,
            .chunkTooLarge(limit: 4096)),
        Broken("HTTP/1.1 200 OK\r\nContent-Length: 4097\r\n\r\n", false, .bodyTooLarge(limit: 4096)),
    ]

    @Test(arguments: broken)
    func brokenResponsesFailWithTheirError(_ testCase: Broken) {
        let limits = HTTPResponseParser.Limits(maxChunkBytes: 4096)
        for feeding in [Feeding.whole, .byteByByte, .random(seed: 9)] {
            let result = responseEvents(bytes(testCase.raw), feeding: feeding, finish: testCase.finish, limits: limits)
            #expect(result.error == testCase.error, "fed \(feeding)")
        }
    }

    @Test func anOverlongChunkSizeLineIsMalformed() {
        let raw = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "x", count: 5000))
        #expect(responseEvents(raw).error == .badChunk)
    }

    /// Regression: the line cap once applied only while the LF was missing, so the verdict on a long line
    /// depended on whether its LF arrived in the same read.
    @Test(arguments: [(4096, nil), (4097, HTTPParseError.badChunk)] as [(Int, HTTPParseError?)])
    func theChunkLineCapGivesTheSameVerdictWhateverTheFeeding(lineLength: Int, error: HTTPParseError?) {
        let line = "1;" + String(repeating: "x", count: lineLength - 3) + "\r"
        let raw = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(line)\na\r\n0\r\n\r\n")
        for feeding in Feeding.all {
            let result = responseEvents(raw, feeding: feeding)
            #expect(result.error == error, "fed \(feeding)")
            #expect(result.events.contains(.body(bytes("a"))) == (error == nil))
        }
    }
}
