import HTTPWire
import Testing

@Suite struct HTTPRequestWriterTests {
    @Test func aPostCarriesHostTypeAndLength() {
        var buffer: [UInt8] = []
        HTTPRequestWriter.write(
            method: .post, target: "/v1/register", host: "127.0.0.1:8054", contentType: "application/json",
            body: bytes(#"{"port":1}"#), into: &buffer)
        #expect(
            String(decoding: buffer, as: UTF8.self)
                == "POST /v1/register HTTP/1.1\r\nHost: 127.0.0.1:8054\r\nContent-Type: application/json\r\n"
                + "Content-Length: 10\r\n\r\n{\"port\":1}")
    }

    @Test func aBodylessPostStillSaysLengthZeroButAGetDoesNot() {
        var post: [UInt8] = []
        HTTPRequestWriter.write(method: .post, target: "/v1/instances/a/heartbeat", host: "h", into: &post)
        #expect(String(decoding: post, as: UTF8.self).hasSuffix("Host: h\r\nContent-Length: 0\r\n\r\n"))
        var get: [UInt8] = []
        HTTPRequestWriter.write(
            method: .get, target: "/healthz", host: "h", contentType: "x/y", close: true, into: &get)
        #expect(String(decoding: get, as: UTF8.self) == "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    }

    @Test func writtenRequestsParseBackIntoTheSameParts() throws {
        var buffer: [UInt8] = []
        HTTPRequestWriter.write(
            method: .put, target: "/v3/kv/put?x=a%20b", host: "etcd:2379", headers: [("Authorization", "Bearer t")],
            body: bytes("{}"), into: &buffer)
        HTTPRequestWriter.write(method: .delete, target: "/v1/instances/z", host: "b", close: true, into: &buffer)
        let parse = dripFeed(buffer)
        #expect(parse.error == nil)
        #expect(parse.requests.count == 2)
        let put = try #require(parse.requests.first)
        #expect(put.method == .put && put.path == "/v3/kv/put" && put.queryValue("x") == "a b")
        #expect(put.header("host") == "etcd:2379" && put.header("authorization") == "Bearer t")
        #expect(put.body == bytes("{}"))
        #expect(parse.requests[1].method == .delete && !parse.requests[1].keepAlive)
    }

    @Test func fieldValuesCannotSmuggleARequest() {
        var buffer: [UInt8] = []
        HTTPRequestWriter.write(
            method: .get, target: "/", host: "h\r\n\r\nGET /evil HTTP/1.1", headers: [("X", "1\n2")], into: &buffer)
        let parse = dripFeed(buffer)
        #expect(parse.requests.count == 1)
        #expect(parse.requests.first?.header("host") == "h    GET /evil HTTP/1.1")
        #expect(parse.requests.first?.header("x") == "1 2")
    }
}
