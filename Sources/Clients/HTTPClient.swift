// Clients: blocking HTTP and DNS clients over PosixIO sockets, for the command-line tools, the
// sidecar, the etcd store and tests. Never used on a server's event loop.
import HTTPWire
import PosixIO
import TLS

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

/// `http://HOST:PORT[/PATH]` or `https://...`, with HOST an IP literal or `localhost`.
package struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    package var address: SocketAddress
    package var path: String
    /// `https://`: the connection is TLS, and the server's certificate must name `host`.
    package var isSecure: Bool
    /// The host as the URL gave it (`localhost`, `127.0.0.1`, `::1`): what a certificate is checked against.
    package var host: String

    package init(address: SocketAddress, path: String = "/", isSecure: Bool = false, host: String? = nil) {
        self.address = address
        self.path = path
        self.isSecure = isSecure
        self.host = host ?? address.hostText
    }

    package init(parsing text: String) throws(ClientError) {
        let scheme: String
        if text.hasPrefix("http://") {
            scheme = "http://"
        } else if text.hasPrefix("https://") {
            scheme = "https://"
        } else {
            throw .badURL("\(text) (expected http://HOST:PORT or https://HOST:PORT)")
        }
        isSecure = scheme == "https://"
        let rest = text.dropFirst(scheme.count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var hostPort = String(rest[..<slash])
        if !hostPort.contains(":") || hostPort.hasSuffix("]") { hostPort += isSecure ? ":443" : ":80" }
        guard let address = SocketAddress(parsing: hostPort) else {
            throw .badURL("\(text) (expected \(scheme)HOST:PORT with an IP literal or localhost)")
        }
        self.address = address
        let hostPart = hostPort[..<hostPort.lastIndex(of: ":")!]
        host = hostPart.hasPrefix("[") ? String(hostPart.dropFirst().dropLast()) : String(hostPart)
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
    }

    package var description: String { "\(isSecure ? "https" : "http")://\(address)\(path == "/" ? "" : path)" }
}

/// One keep-alive HTTP/1.1 connection, reopened when the server closed it; TLS for `https://`.
package struct HTTPClient: ~Copyable {
    package let endpoint: HTTPEndpoint
    package var timeoutMilliseconds: Int
    /// What an `https://` endpoint is verified with; nil for `http://`.
    private let tls: TLSClientContext?
    private var stream: ClientStream?

    package init(endpoint: HTTPEndpoint, tls: TLSClientContext? = nil, timeoutMilliseconds: Int = 5_000) {
        self.endpoint = endpoint
        self.tls = tls
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
            guard !endpoint.isSecure || tls != nil else {
                throw .connection("\(endpoint): https:// needs TLS settings (--ca)")
            }
            do throws(ClientStreamError) {
                stream = try ClientStream(
                    connectingTo: endpoint.address, host: endpoint.host, tls: endpoint.isSecure ? tls : nil,
                    timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                throw .connection("cannot connect to \(endpoint.address): \(error)")
            }
        }
        var collector = HTTPResponseCollector()
        collector.expectingResponseToHEAD = expectingHead
        do throws(ClientStreamError) {
            try stream!.write(request)
        } catch {
            stream = nil
            throw .connection("\(endpoint.address): \(error)")
        }
        while true {
            let bytes: [UInt8]
            do throws(ClientStreamError) {
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
