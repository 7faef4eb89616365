/// A request's start line and fields, as parsed; available before its body has arrived.
///
/// `keepAlive` applies RFC 9112 §9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 closes
/// unless `Connection: keep-alive` (and `close` wins over both).
package struct HTTPRequestHead: Sendable, Equatable {
    package typealias QueryItem = (name: String, value: String)

    package var method: HTTPMethod
    /// The request-target exactly as received (still percent-encoded).
    package var target: String
    /// The percent-decoded path (`/` for an absolute-form target without one). For display: an
    /// encoded `/` (`%2F`) is a `/` here, so route on `pathSegments`.
    package var path: String
    /// The path as received, still percent-encoded.
    package var rawPath: String
    /// Decoded query items in order; repeated names are kept.
    package var query: [QueryItem]
    package var version: HTTPVersion
    package var headers: HTTPHeaders
    package var keepAlive: Bool
    /// Whether the client sent `Expect: 100-continue` (RFC 9110 §10.1.1) and waits before sending the body.
    package var expectsContinue: Bool
    /// The body length from Content-Length; 0 without one (RFC 9112 §6.3 rule 7).
    package var contentLength: Int

    package init(
        method: HTTPMethod, target: String, path: String, rawPath: String? = nil, query: [QueryItem] = [],
        version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(), keepAlive: Bool = true,
        expectsContinue: Bool = false, contentLength: Int = 0
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.rawPath = rawPath ?? path
        self.query = query
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.contentLength = contentLength
    }

    /// The path's segments, split on `/` before each is percent-decoded (empty segments dropped):
    /// `/v1/instances/web-1%2Fheartbeat` is `["v1", "instances", "web-1/heartbeat"]`, never a
    /// heartbeat. What routing uses.
    package var pathSegments: [String] { RequestTarget.pathSegments(rawPath) }

    /// The value of the first field called `name`, ignoring case.
    package func header(_ name: String) -> String? { headers[name] }

    /// The value of the first query item called `name` (case-sensitive, as URIs are).
    package func queryValue(_ name: String) -> String? {
        for item in query where item.name == name { return item.value }
        return nil
    }

    package static func == (lhs: HTTPRequestHead, rhs: HTTPRequestHead) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.path == rhs.path && lhs.rawPath == rhs.rawPath
            && lhs.query.elementsEqual(rhs.query) { $0.name == $1.name && $0.value == $1.value }
            && lhs.version == rhs.version && lhs.headers == rhs.headers && lhs.keepAlive == rhs.keepAlive
            && lhs.expectsContinue == rhs.expectsContinue && lhs.contentLength == rhs.contentLength
    }
}

/// A complete request: head and body. The head's parts are forwarded so handlers read `request.path`.
package struct HTTPRequest: Sendable, Equatable {
    package var head: HTTPRequestHead
    package var body: [UInt8]

    package init(head: HTTPRequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    package var method: HTTPMethod { head.method }
    package var target: String { head.target }
    package var path: String { head.path }
    package var rawPath: String { head.rawPath }
    package var pathSegments: [String] { head.pathSegments }
    package var query: [HTTPRequestHead.QueryItem] { head.query }
    package var version: HTTPVersion { head.version }
    package var headers: HTTPHeaders { head.headers }
    package var keepAlive: Bool { head.keepAlive }
    package var expectsContinue: Bool { head.expectsContinue }

    package func header(_ name: String) -> String? { head.headers[name] }
    package func queryValue(_ name: String) -> String? { head.queryValue(name) }
}
