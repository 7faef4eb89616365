import Clients
import HTTPWire
import PosixIO

/// One streaming `/v3/watch` request on its own connection.
///
/// The gateway answers with a chunked body that never ends while the watch lives, one JSON object per
/// line. `HTTPResponseParser` hands out each chunk as it completes; this splits them into lines (a
/// message may span chunks, or a chunk hold several) and decodes each.
///
/// The request carries `Grpc-Metadata-Hasleader: true`, which the gateway passes on as the gRPC
/// metadata `hasleader`: etcd then cancels the watch when its member loses the leader, instead of
/// leaving a partitioned member's watch open and silent.
package struct WatchStream: ~Copyable {
    private let stream: ClientStream
    private var parser = HTTPResponseParser()
    private var pending = LineSplitter()
    package let endpoint: SocketAddress

    /// A plain-HTTP watch on one member.
    package init(endpoint: SocketAddress, prefix: String, startRevision: Int64, timeoutMilliseconds: Int)
        throws(EtcdError)
    {
        try self.init(
            ring: EndpointRing([endpoint]), index: 0, prefix: prefix, startRevision: startRevision,
            timeoutMilliseconds: timeoutMilliseconds)
    }

    /// - Parameter ring: gives member `index`'s address, and TLS for `etcds://`.
    package init(ring: EndpointRing, index: Int, prefix: String, startRevision: Int64, timeoutMilliseconds: Int)
        throws(EtcdError)
    {
        let endpoint = ring.endpoints[index]
        self.endpoint = endpoint
        let stream: ClientStream
        do throws(ClientStreamError) {
            stream = try ClientStream(
                connectingTo: endpoint, host: ring.hosts[index], tls: ring.tls, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .unreachable("\(endpoint): watch: \(error)")
        }
        var request: [UInt8] = []
        HTTPRequestWriter.write(
            method: .post, target: "/v3/watch", host: endpoint.description,
            headers: [("Grpc-Metadata-Hasleader", "true")], contentType: "application/json",
            body: EtcdRequest.watch(prefix: prefix, startRevision: startRevision).serialized(), into: &request)
        do throws(ClientStreamError) {
            try stream.write(request)
        } catch {
            throw .unreachable("\(endpoint): watch: \(error)")
        }
        self.stream = stream
    }

    /// The messages that arrive within `timeoutMilliseconds`: empty when nothing did.
    /// - Throws: `.unreachable` when the stream ends or breaks, `.rejected` for a non-200 answer.
    package mutating func next(timeoutMilliseconds: Int) throws(EtcdError) -> [EtcdWatchMessage] {
        let bytes: [UInt8]
        do throws(ClientStreamError) {
            bytes = try stream.read(maximum: 65_536, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            if error.isTimeout { return [] }
            throw .unreachable("\(endpoint): watch: \(error)")
        }
        if bytes.isEmpty { parser.finish() } else { parser.append(bytes) }
        var messages: [EtcdWatchMessage] = []
        while true {
            let event: HTTPResponseEvent?
            do throws(HTTPParseError) {
                event = try parser.next()
            } catch {
                throw .unreachable("\(endpoint): watch: bad HTTP: \(error)")
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                guard head.status == 200 else { throw .rejected(status: head.status, message: "watch refused") }
            case .body(let chunk):
                for line in pending.append(chunk) { messages.append(try Self.decode(line)) }
            case .end:
                throw .unreachable("\(endpoint): watch stream ended")
            }
        }
        if bytes.isEmpty { throw .unreachable("\(endpoint): watch: connection closed") }
        return messages
    }

    private static func decode(_ line: [UInt8]) throws(EtcdError) -> EtcdWatchMessage {
        let value: JSONValue
        do throws(JSONError) {
            value = try JSONParser.parse(line)
        } catch {
            throw .malformed("watch message is not JSON: \(error)")
        }
        return try EtcdReply.watch(value)
    }
}

/// Splits a byte stream into non-empty lines (LF, optionally CRLF, ends one).
package struct LineSplitter: Sendable {
    private var buffer: [UInt8] = []

    package init() {}

    package mutating func append(_ bytes: [UInt8]) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var lines: [[UInt8]] = []
        var start = 0
        for index in buffer.indices where buffer[index] == UInt8(ascii: "\n") {
            var end = index
            if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if end > start { lines.append(Array(buffer[start..<end])) }
            start = index + 1
        }
        buffer.removeFirst(start)
        return lines
    }

    package var buffered: Int { buffer.count }
}
