import EtcdStore
import PosixIO
import Testing

@Suite struct LineSplitterTests {
    @Test func messagesSplitAcrossChunksAndSeveralPerChunkComeOutWhole() {
        var splitter = LineSplitter()
        #expect(splitter.append(Array("{\"a\":".utf8)).isEmpty)
        #expect(splitter.append(Array("1}\n{\"b\":2}\r\n{\"c\"".utf8)) == [Array("{\"a\":1}".utf8), Array("{\"b\":2}".utf8)])
        #expect(splitter.buffered == 4)
        #expect(splitter.append(Array(":3}\n\n".utf8)) == [Array("{\"c\":3}".utf8)])
        #expect(splitter.buffered == 0)
    }
}

/// `WatchStream` against a scripted gateway on a loopback port: the chunk boundaries fall inside
/// messages, as they may on a real connection.
@Suite struct WatchStreamTests {
    static func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }

    static let created = #"{"result":{"header":{"revision":"3"},"created":true}}"# + "\n"
    static let put =
        #"{"result":{"header":{"revision":"4"},"events":[{"kv":{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","mod_revision":"4","value":"eyJhIjoxfQ==","lease":"7"}}]}}"#
        + "\n"
    static let delete =
        #"{"result":{"header":{"revision":"5"},"events":[{"type":"DELETE","kv":{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","mod_revision":"5"}}]}}"#
        + "\n"

    @Test func messagesSplitAcrossChunksAreDecodedInOrderAndTheEndIsAnError() throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        let cut = Self.put.index(Self.put.startIndex, offsetBy: 40)
        let server = try ScriptedServer(script: [
            head + Self.chunk(Self.created), Self.chunk(String(Self.put[..<cut])),
            Self.chunk(String(Self.put[cut...]) + Self.delete), "0\r\n\r\n",
        ])
        defer { server.join() }
        var watch = try WatchStream(
            endpoint: server.address, prefix: "/beacon/v1/instances/", startRevision: 3, timeoutMilliseconds: 2_000)
        var messages: [EtcdWatchMessage] = []
        var failure: EtcdError?
        for _ in 0..<100 {
            do throws(EtcdError) {
                messages += try watch.next(timeoutMilliseconds: 100)
            } catch {
                failure = error
                break
            }
        }
        #expect(messages.count == 3)
        #expect(messages.first?.created == true)
        #expect(messages.dropFirst().flatMap(\.events) == [
            .put(EtcdKeyValue(key: "/beacon/v1/instances/x", value: Array("{\"a\":1}".utf8), modRevision: 4, lease: 7)),
            .delete(key: "/beacon/v1/instances/x", revision: 5),
        ])
        #expect(failure.map { "\($0)".contains("ended") } == true)
        let request = server.request
        #expect(request.hasPrefix("POST /v3/watch HTTP/1.1\r\n"))
        #expect(request.contains("Grpc-Metadata-Hasleader: true\r\n"))
        #expect(request.contains(#""start_revision":"3""#))
    }

    @Test func aRefusedWatchIsRejected() throws {
        let server = try ScriptedServer(script: [
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}"
        ])
        defer { server.join() }
        var watch = try WatchStream(
            endpoint: server.address, prefix: "/beacon/v1/instances/", startRevision: 1, timeoutMilliseconds: 2_000)
        var failure: EtcdError?
        for _ in 0..<50 where failure == nil {
            do throws(EtcdError) {
                _ = try watch.next(timeoutMilliseconds: 100)
            } catch {
                failure = error
            }
        }
        #expect(failure == .rejected(status: 503, message: "watch refused"))
    }

    @Test func nothingArrivingWithinTheTimeoutIsNotAnError() throws {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let server = try ScriptedServer(script: [head + Self.chunk(Self.created)])
        defer { server.join() }
        var watch = try WatchStream(
            endpoint: server.address, prefix: "/beacon/v1/instances/", startRevision: 1, timeoutMilliseconds: 2_000)
        var seen: [EtcdWatchMessage] = []
        for _ in 0..<20 where seen.isEmpty { seen += try watch.next(timeoutMilliseconds: 50) }
        #expect(seen.first?.created == true)
        #expect(try watch.next(timeoutMilliseconds: 30).isEmpty)
    }
}
