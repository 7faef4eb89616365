import HTTPWire
import Testing

/// Well-formed requests: every case goes through the drip-feed verifier, so each also shows that the
/// result does not depend on how the bytes were chunked.
@Suite struct HTTPRequestParserTests {
    @Test func aSimpleGetIsParsedIntoItsParts() throws {
        let parse = dripFeed("GET /v1/instances/abc HTTP/1.1\r\nHost: beacon\r\nAccept: */*\r\n\r\n")
        #expect(parse.error == nil)
        #expect(parse.buffered == 0)
        let request = try #require(parse.requests.first)
        #expect(parse.requests.count == 1)
        #expect(request.method == .get)
        #expect(request.target == "/v1/instances/abc")
        #expect(request.path == "/v1/instances/abc")
        #expect(request.query.isEmpty)
        #expect(request.version == .http1_1)
        #expect(request.keepAlive)
        #expect(!request.expectsContinue)
        #expect(request.body.isEmpty)
        #expect(request.headers.count == 2)
        #expect(request.headers[0].name == "Host" && request.headers[0].value == "beacon")
    }

    @Test func headerLookupIgnoresCase() throws {
        let request = try #require(dripFeed("GET / HTTP/1.1\r\nCONTENT-type: text/plain\r\n\r\n").requests.first)
        #expect(request.header("content-type") == "text/plain")
        #expect(request.header("Content-Type") == "text/plain")
        #expect(request.header("content-typ") == nil)
        #expect(request.headers[0].name == "CONTENT-type")
    }

    @Test func aPostBodyIsReadByContentLength() throws {
        let body = #"{"service":"orders","function":"create","address":"10.0.0.1","port":8080}"#
        let parse = dripFeed("POST /v1/register HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let request = try #require(parse.requests.first)
        #expect(request.method == .post)
        #expect(request.body == bytes(body))
        #expect(request.head.contentLength == body.utf8.count)
        #expect(parse.buffered == 0)
    }

    @Test func pipelinedRequestsComeOutOneAtATimeInOrder() {
        let text =
            "POST /v1/instances/a/heartbeat HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
            + "POST /v1/register HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            + "DELETE /v1/instances/b HTTP/1.1\r\n\r\n"
            + "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"
        let parse = dripFeed(text)
        #expect(parse.requests.map(\.method) == [.post, .post, .delete, .get])
        #expect(
            parse.requests.map(\.path) == ["/v1/instances/a/heartbeat", "/v1/register", "/v1/instances/b", "/healthz"])
        #expect(parse.requests[1].body == bytes("hello"))
        #expect(parse.requests.map(\.keepAlive) == [true, true, true, false])
    }

    @Test func nextReturnsOneRequestPerCallFromASingleChunk() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTT"))
        #expect(try parser.next()?.path == "/a")
        #expect(try parser.next()?.path == "/b")
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        parser.append(bytes("P/1.1\r\n\r\n"))
        #expect(try parser.next()?.path == "/c")
        #expect(try parser.next() == nil)
        #expect(parser.isIdle)
    }

    @Test func aPartialRequestStaysBuffered() {
        let parse = dripFeed("GET / HTTP/1.1\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345")
        #expect(parse.requests.count == 1)
        #expect(parse.error == nil)
        #expect(parse.buffered == 5)
    }

    static let keepAliveCases: [(version: String, connection: String?, keepAlive: Bool)] = [
        ("HTTP/1.1", nil, true),
        ("HTTP/1.1", "close", false),
        ("HTTP/1.1", "Close", false),
        ("HTTP/1.1", "keep-alive", true),
        ("HTTP/1.1", "Upgrade, close", false),
        ("HTTP/1.0", nil, false),
        ("HTTP/1.0", "keep-alive", true),
        ("HTTP/1.0", "Keep-Alive", true),
        ("HTTP/1.0", "keep-alive, close", false),
        ("HTTP/1.0", "upgrade", false),
        ("HTTP/1.2", nil, true),
    ]

    @Test(arguments: keepAliveCases)
    func keepAliveFollowsVersionAndConnectionHeader(version: String, connection: String?, keepAlive: Bool) throws {
        let field = connection.map { "Connection: \($0)\r\n" } ?? ""
        let request = try #require(dripFeed("GET / \(version)\r\n\(field)\r\n").requests.first)
        #expect(request.keepAlive == keepAlive)
    }

    @Test func higherHTTP1MinorVersionsAreKeptAndServedAs11() throws {
        let request = try #require(dripFeed("GET / HTTP/1.7\r\n\r\n").requests.first)
        #expect(request.version == HTTPVersion(major: 1, minor: 7))
        #expect(request.version.description == "HTTP/1.7")
    }

    @Test func queryItemsArePercentAndPlusDecoded() throws {
        let target = "/v1/services/orders/create?index=42&wait=30s&q=a%20b+c%2B&flag&&empty=&eq=a=b&caf%C3%A9=%E2%9C%93"
        let request = try #require(dripFeed("GET \(target) HTTP/1.1\r\n\r\n").requests.first)
        #expect(request.target == target)
        #expect(request.path == "/v1/services/orders/create")
        #expect(request.query.map(\.name) == ["index", "wait", "q", "flag", "empty", "eq", "café"])
        #expect(request.query.map(\.value) == ["42", "30s", "a b c+", "", "", "a=b", "✓"])
        #expect(request.queryValue("wait") == "30s")
        #expect(request.queryValue("missing") == nil)
    }

    @Test func thePathIsPercentDecodedButPlusStaysPlus() throws {
        let request = try #require(dripFeed("GET /files/a%20b+c%2Fd HTTP/1.1\r\n\r\n").requests.first)
        #expect(request.path == "/files/a b+c/d")
        #expect(request.target == "/files/a%20b+c%2Fd")
    }

    @Test func pathSegmentsAreSplitBeforeTheyAreDecoded() throws {
        let request = try #require(dripFeed("POST /v1/instances/web-1%2Fheartbeat HTTP/1.1\r\n\r\n").requests.first)
        #expect(request.rawPath == "/v1/instances/web-1%2Fheartbeat")
        #expect(request.path == "/v1/instances/web-1/heartbeat")
        #expect(request.pathSegments == ["v1", "instances", "web-1/heartbeat"])
        let spaced = try #require(dripFeed("GET //a%20b//c%2Fd/?x=1 HTTP/1.1\r\n\r\n").requests.first)
        #expect(spaced.pathSegments == ["a b", "c/d"])
        let plain = try #require(dripFeed("GET /v1/services/orders/create HTTP/1.1\r\n\r\n").requests.first)
        #expect(plain.rawPath == plain.path)
        #expect(plain.pathSegments == ["v1", "services", "orders", "create"])
        #expect(try #require(dripFeed("GET http://beacon HTTP/1.1\r\n\r\n").requests.first).pathSegments == [])
    }

    @Test func absoluteFormTargetsAreReducedToPathAndQuery() throws {
        let parse = dripFeed(
            "GET http://beacon:8054/v1/services?x=1 HTTP/1.1\r\n\r\nGET HTTPS://beacon HTTP/1.1\r\n\r\n"
                + "GET http://beacon?y=2 HTTP/1.1\r\n\r\n")
        #expect(parse.requests.map(\.path) == ["/v1/services", "/", "/"])
        #expect(parse.requests[0].queryValue("x") == "1")
        #expect(parse.requests[2].queryValue("y") == "2")
    }

    @Test func asteriskFormIsAccepted() throws {
        let request = try #require(dripFeed("OPTIONS * HTTP/1.1\r\n\r\n").requests.first)
        #expect(request.method == .options)
        #expect(request.path == "*")
    }

    @Test func methodsAreCaseSensitiveAndUnknownOnesAreKept() {
        let parse = dripFeed(
            "PURGE / HTTP/1.1\r\n\r\nget / HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\nPUT / HTTP/1.1\r\n\r\n"
                + "PATCH / HTTP/1.1\r\n\r\nDELETE / HTTP/1.1\r\n\r\n")
        #expect(parse.requests.map(\.method) == [.other("PURGE"), .other("get"), .head, .put, .patch, .delete])
        #expect(parse.requests.map(\.method.rawValue) == ["PURGE", "get", "HEAD", "PUT", "PATCH", "DELETE"])
    }

    @Test func emptyLinesBeforeARequestAreIgnored() {
        let parse = dripFeed("\r\n\r\nGET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n\n")
        #expect(parse.requests.map(\.path) == ["/a", "/b"])
        #expect(parse.error == nil)
    }

    @Test func bareLFLineEndingsAreAccepted() throws {
        let parse = dripFeed("POST /x HTTP/1.1\nContent-Length: 2\nX-A: 1\n\nhiGET /y HTTP/1.1\r\n\n")
        #expect(parse.requests.map(\.path) == ["/x", "/y"])
        #expect(parse.requests[0].body == bytes("hi"))
        #expect(parse.requests[0].header("x-a") == "1")
    }

    @Test func fieldValuesLoseSurroundingWhitespaceAndKeepInnerWhitespace() throws {
        let request = try #require(
            dripFeed("GET / HTTP/1.1\r\nX-A: \t a  b \t\r\nX-Empty:\r\nX-B:c\r\nX-A: second\r\n\r\n").requests.first)
        #expect(request.header("x-a") == "a  b")
        #expect(request.header("x-empty") == "")
        #expect(request.header("x-b") == "c")
        #expect(request.headers.values(for: "X-A") == ["a  b", "second"])
    }

    @Test func obsTextInAFieldValueIsAllowed() throws {
        let raw = bytes("GET / HTTP/1.1\r\nX-Name: caf") + [0xC3, 0xA9] + bytes("\r\n\r\n")
        let request = try #require(dripFeed(raw).requests.first)
        #expect(request.header("x-name") == "café")
    }

    @Test func repeatedIdenticalContentLengthsAreOneLength() throws {
        let parse = dripFeed("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc")
        #expect(parse.requests.first?.body == bytes("abc"))
        #expect(parse.error == nil)
    }

    @Test func contentLengthWithLeadingZerosIsDecimal() throws {
        let parse = dripFeed("POST / HTTP/1.1\r\nContent-Length: 003\r\n\r\nabc")
        #expect(parse.requests.first?.body == bytes("abc"))
    }

    // MARK: - Expect: 100-continue

    @Test func expectContinueIsFlaggedAndOfferedOnceBeforeTheBody() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST /v1/register HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n"))
        #expect(try parser.next() == nil)
        let head = try #require(parser.pendingHead)
        #expect(head.expectsContinue)
        #expect(head.path == "/v1/register")
        var offered = parser.takeContinueRequest()
        #expect(offered)
        offered = parser.takeContinueRequest()
        #expect(!offered)
        parser.append(bytes("ab"))
        #expect(try parser.next() == nil)
        offered = parser.takeContinueRequest()
        #expect(!offered)
        parser.append(bytes("cd"))
        let request = try #require(try parser.next())
        #expect(request.expectsContinue)
        #expect(request.body == bytes("abcd"))
        #expect(parser.pendingHead == nil)
    }

    @Test func rfc9110ExpectContinueFromHTTP10IsIgnored() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"))
        #expect(try parser.next() == nil)
        #expect(parser.pendingHead?.expectsContinue == false)
        let offered = parser.takeContinueRequest()
        #expect(!offered)
    }

    @Test func noContinueIsOfferedWithoutExpectOrWhenTheBodyIsAlreadyHere() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n"))
        #expect(try parser.next() == nil)
        #expect(parser.pendingHead != nil)
        var offered = parser.takeContinueRequest()
        #expect(!offered)
        parser.append(bytes("abcdPOST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"))
        #expect(try parser.next()?.body == bytes("abcd"))
        #expect(try parser.next()?.expectsContinue == true)
        offered = parser.takeContinueRequest()
        #expect(!offered)
    }
}
