/// A received response's status line and fields, and how its body is framed.
package struct HTTPResponseHead: Sendable, Equatable {
    package var version: HTTPVersion
    package var status: Int
    /// The reason phrase as sent (possibly empty); informational only (RFC 9112 §4).
    package var reason: String
    package var headers: HTTPHeaders
    package var framing: HTTPBodyFraming
    /// Whether the connection can carry another request after this response (RFC 9112 §9.3): never when
    /// the body runs to the end of the connection.
    package var keepAlive: Bool

    package init(
        version: HTTPVersion = .http1_1, status: Int, reason: String = "", headers: HTTPHeaders = HTTPHeaders(),
        framing: HTTPBodyFraming, keepAlive: Bool
    ) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.framing = framing
        self.keepAlive = keepAlive
    }

    package func header(_ name: String) -> String? { headers[name] }
}

/// How a response body is delimited (RFC 9112 §6.3), decided from the head.
package enum HTTPBodyFraming: Sendable, Equatable {
    /// No body: a response to HEAD, or a 1xx, 204 or 304 status.
    case none
    /// Exactly this many bytes (Content-Length).
    case length(Int)
    /// `Transfer-Encoding: chunked`: each chunk is handed out as it completes.
    case chunked
    /// Everything until the server closes the connection.
    case untilClose
}

/// What `HTTPResponseParser.next()` produces, in order: one `head`, zero or more `body` pieces, one `end`.
package enum HTTPResponseEvent: Sendable, Equatable {
    case head(HTTPResponseHead)
    /// Body bytes: the whole body for `.length`; one decoded chunk for `.chunked`; whatever has arrived
    /// for `.untilClose`. Never empty.
    case body([UInt8])
    /// The message is complete; the next event (if any) starts the next response.
    case end
}
