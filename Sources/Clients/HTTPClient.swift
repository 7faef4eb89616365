// Clients: blocking HTTP and DNS clients over PosixIO sockets, for the command-line tools, the
// sidecar, the etcd store and tests. Never used on a server's event loop.
import HTTPWire
import PosixIO

/// Why a client call failed before a response arrived.
package enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case badURL(String)
    case connection(String)
    case protocolError(String)

    package var description: String {
        switch self {
        case .badURL(let text): "bad URL: \(text)"
        case .connection(let text): text
        case .protocolError(let text): text
        }
    }
}

/// `http://HOST:PORT[/PATH]`, with HOST an IP literal or `localhost`.
package struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    package var address: SocketAddress
    package var path: String

    package init(address: SocketAddress, path: String = "/") {
        self.address = address
        self.path = path
    }

    package init(parsing text: String) throws(ClientError) {
        guard text.hasPrefix("http://") else { throw .badURL("\(text) (expected http://HOST:PORT)") }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var hostPort = String(rest[..<slash])
        if !hostPort.contains(":") || hostPort.hasSuffix("]") { hostPort += ":80" }
        guard let address = SocketAddress(parsing: hostPort) else {
            throw .badURL("\(text) (expected http://HOST:PORT with an IP literal or localhost)")
        }
        self.address = address
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
    }

    package var description: String { "http://\(address)\(path == "/" ? "" : path)" }
}

/// One keep-alive HTTP/1.1 connection, reopened when the server closed it.
package struct HTTPClient: ~Copyable {
    package let endpoint: HTTPEndpoint
    package var timeoutMilliseconds: Int
    private var stream: BlockingStream?

    package init(endpoint: HTTPEndpoint, timeoutMilliseconds: Int = 5_000) {
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Sends one request and reads its response. A request on a reused connection that fails before
    /// any response byte is retried once on a new connection (the server may have closed it idle).
    package mutating func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws(ClientError) -> HTTPClientResponse {
        let request = Self.encode(method: method, path: path, host: endpoint.address.description, headers: headers, body: body)
        let reused = stream != nil
        do throws(ClientError) {
            return try exchange(request, expectingHead: method == "HEAD")
        } catch {
            stream = nil
            guard reused else { throw error }
            return try exchange(request, expectingHead: method == "HEAD")
        }
    }

    /// Sends JSON and parses a JSON reply (an empty body gives `.null`).
    package mutating func json(_ method: String, _ path: String, headers: [(String, String)] = [], body: JSONValue? = nil)
        throws(ClientError) -> (status: Int, value: JSONValue)
    {
        var allHeaders = headers
        if body != nil { allHeaders.append(("Content-Type", "application/json")) }
        let response = try send(method, path, headers: allHeaders, body: body?.serialized())
        if response.body.isEmpty { return (response.status, .null) }
        do throws(JSONError) {
            return (response.status, try JSONParser.parse(response.body))
        } catch {
            throw .protocolError("\(endpoint): reply is not JSON: \(error)")
        }
    }

    private mutating func exchange(_ request: [UInt8], expectingHead: Bool) throws(ClientError) -> HTTPClientResponse {
        if stream == nil {
            do throws(SystemCallError) {
                stream = try BlockingStream(connectingTo: endpoint.address, timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                throw .connection("cannot connect to \(endpoint.address): \(error.errno)")
            }
        }
        var collector = HTTPResponseCollector()
        collector.expectingResponseToHEAD = expectingHead
        do throws(SystemCallError) {
            try stream!.write(request)
        } catch {
            stream = nil
            throw .connection("\(endpoint.address): \(error)")
        }
        while true {
            let bytes: [UInt8]
            do throws(SystemCallError) {
                bytes = try stream!.read()
            } catch {
                stream = nil
                throw .connection("\(endpoint.address): \(error)")
            }
            if bytes.isEmpty { collector.finish() } else { collector.append(bytes) }
            do throws(HTTPParseError) {
                if let response = try collector.next() {
                    if !response.head.keepAlive { stream = nil }
                    return response
                }
            } catch {
                stream = nil
                throw .protocolError("\(endpoint.address): bad HTTP response: \(error)")
            }
            if bytes.isEmpty {
                stream = nil
                throw .connection("\(endpoint.address): connection closed before a response")
            }
        }
    }

    static func encode(method: String, path: String, host: String, headers: [(String, String)], body: [UInt8]?) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body {
            text += "Content-Length: \(body.count)\r\n\r\n"
            return Array(text.utf8) + body
        }
        if method == "POST" || method == "PUT" { text += "Content-Length: 0\r\n" }
        return Array((text + "\r\n").utf8)
    }
}
