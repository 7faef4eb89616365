import HTTPWire
import PosixIO
import TLS

/// A reply from Beacon's `/v1` API: the status, the raw body (for `--json`), and the parsed JSON.
package struct ControlReply: Sendable, Equatable {
    package var status: Int
    package var body: [UInt8]
    /// The body as JSON; `.null` when it is empty or not JSON.
    package var json: JSONValue

    package init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
        json = (try? JSONParser.parse(body)) ?? .null
    }

    package var isSuccess: Bool { (200..<300).contains(status) }

    /// The server's explanation: `{"error":"..."}` (CONTRACT.md), `{"error":{"message":"..."}}`, or
    /// failing both the body text, so that a proxy's HTML error page still says something.
    package var errorMessage: String {
        if let text = json["error"]?.stringValue { return text }
        if let text = json["error"]?["message"]?.stringValue { return text }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.isEmpty ? "HTTP \(status)" : text
    }

    /// The body as text, as the server sent it.
    package var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Beacon's HTTP side channel (CONTRACT.md "HTTP side channel") over one keep-alive connection:
/// what `beacon register`, `heartbeat`, `deregister`, `ls` and the sidecar call.
///
/// Replies come back whatever their status, so each caller decides what a 404 means (the sidecar
/// registers again; `beacon heartbeat` reports it). Only a failure to get any reply throws.
package struct ControlClient: ~Copyable {
    private var http: HTTPClient
    /// Prepended to every `/v1` path, for a Beacon behind a reverse proxy at `http://host/beacon`.
    private let prefix: String
    /// Sent as `Authorization: Bearer TOKEN` on the calls that need it (register, heartbeat, deregister).
    private let token: String?

    /// - Parameter tls: what an `https://` server is verified with, and the client certificate.
    package init(server: HTTPEndpoint, token: String? = nil, tls: TLSClientContext? = nil, timeoutMilliseconds: Int = 5_000) {
        http = HTTPClient(endpoint: server, tls: tls, timeoutMilliseconds: timeoutMilliseconds)
        var path = server.path
        while path.hasSuffix("/") { path.removeLast() }
        prefix = path
        self.token = token
    }

    /// `POST /v1/register` with `body` (service, function, address, port and the optional fields).
    package mutating func register(_ body: JSONValue) throws(ClientError) -> ControlReply {
        try call("POST", "/v1/register", body: body, authorized: true)
    }

    /// `POST /v1/instances/{id}/heartbeat`.
    package mutating func heartbeat(id: String) throws(ClientError) -> ControlReply {
        try call("POST", "/v1/instances/\(Self.escape(id))/heartbeat", authorized: true)
    }

    /// `DELETE /v1/instances/{id}`.
    /// `POST /v1/reload`: the server reloads its zone files and token file.
    package mutating func reload() throws(ClientError) -> ControlReply {
        try call("POST", "/v1/reload", authorized: true)
    }

    package mutating func deregister(id: String) throws(ClientError) -> ControlReply {
        try call("DELETE", "/v1/instances/\(Self.escape(id))", authorized: true)
    }

    /// `GET /v1/services`: every service and its functions, with instance counts.
    package mutating func services() throws(ClientError) -> ControlReply {
        try call("GET", "/v1/services")
    }

    /// `GET /v1/services/{service}/{function}`: the live instances of one function.
    package mutating func function(service: String, function: String) throws(ClientError) -> ControlReply {
        try call("GET", "/v1/services/\(Self.escape(service))/\(Self.escape(function))")
    }

    private mutating func call(_ method: String, _ path: String, body: JSONValue? = nil, authorized: Bool = false)
        throws(ClientError) -> ControlReply
    {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if authorized, let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let response = try http.send(method, prefix + path, headers: headers, body: body?.serialized())
        return ControlReply(status: response.status, body: response.body)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters, so that an id typed with a space
    /// or a slash reaches the server as one path segment (and is refused there with a clear 400/404).
    static func escape(_ segment: String) -> String {
        var result = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                result += "%"
                result.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                result.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return result
    }
}
