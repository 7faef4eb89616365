/// An HTTP/1.1 response to write (RFC 9112 §4, §6): status, content type, extra fields, body.
///
/// `write(into:)` appends the whole message to a buffer the connection reuses. The status line is
/// always `HTTP/1.1` (a server sends its own highest version, RFC 9110 §6.2). `Content-Length` is
/// always written except where RFC 9110 forbids it (1xx, 204, 304), so the client never has to read
/// to the end of the connection; `Connection: close` is written when `close` is set. Field names and
/// values are written as given except that CR, LF and NUL become spaces, so no data can split a field
/// line or inject one. No `Date` field: this layer has no clock, so the server adds one if it wants.
package struct HTTPResponse: Sendable {
    package typealias Field = (name: String, value: String)

    package var status: Int
    package var contentType: String?
    package var headers: [Field]
    package var body: [UInt8]
    /// Whether the server closes the connection after this response.
    package var close: Bool
    /// Whether to send `Connection: keep-alive`, which an HTTP/1.0 client needs to keep the connection.
    package var announceKeepAlive: Bool

    package init(
        status: Int, contentType: String? = nil, headers: [Field] = [], body: [UInt8] = [], close: Bool = false,
        announceKeepAlive: Bool = false
    ) {
        precondition((100...999).contains(status), "status must have three digits")
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
        self.close = close
        self.announceKeepAlive = announceKeepAlive
    }

    /// A JSON response with `value` serialized as its body.
    package static func json(status: Int, _ value: JSONValue, close: Bool = false) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: value.serialized(), close: close)
    }

    /// The contract's error shape, `{"error":"..."}`.
    package static func error(status: Int, message: String, close: Bool = false) -> HTTPResponse {
        json(status: status, ["error": .string(message)], close: close)
    }

    /// The response a server sends for a request it could not parse; it always closes the connection.
    package static func error(_ parseError: HTTPParseError) -> HTTPResponse {
        error(status: parseError.status, message: parseError.reason, close: true)
    }

    /// Appends the message to `buffer`.
    /// - Parameter includeBody: false for a response to HEAD: the fields (Content-Length included) are
    ///   those a GET would get, without the body (RFC 9110 §9.3.2).
    package func write(into buffer: inout [UInt8], includeBody: Bool = true) {
        let noContent = HTTPStatus.forbidsContent(status)
        Self.writeHead(
            status: status, contentType: contentType, close: close, announceKeepAlive: announceKeepAlive,
            headers: headers, into: &buffer)
        if !noContent {
            buffer.append("Content-Length: ")
            buffer.appendDecimal(body.count)
            buffer.append("\r\n")
        }
        buffer.append("\r\n")
        if includeBody && !noContent { buffer.append(contentsOf: body) }
    }

    /// Writes a JSON response whose body `body` writes straight into `buffer`: no intermediate value,
    /// string or array. Content-Length is filled in afterwards by inserting its digits.
    package static func writeJSON(
        status: Int, close: Bool = false, announceKeepAlive: Bool = false, headers: [Field] = [],
        includeBody: Bool = true, into buffer: inout [UInt8], _ body: (inout JSONWriter) -> Void
    ) {
        precondition((100...999).contains(status) && !HTTPStatus.forbidsContent(status))
        writeHead(
            status: status, contentType: "application/json", close: close, announceKeepAlive: announceKeepAlive,
            headers: headers, into: &buffer)
        buffer.append("Content-Length: ")
        let slot = buffer.count
        buffer.append("\r\n\r\n")
        let bodyStart = buffer.count
        JSONWriter.write(into: &buffer, body)
        let length = buffer.count - bodyStart
        if !includeBody { buffer.removeSubrange(bodyStart...) }
        var digits = 1
        var rest = length / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        buffer.insert(contentsOf: repeatElement(ASCII.zero, count: digits), at: slot)
        rest = length
        for i in (slot..<slot + digits).reversed() {
            buffer[i] = ASCII.zero + UInt8(rest % 10)
            rest /= 10
        }
    }

    /// `HTTP/1.1 100 Continue` (RFC 9110 §15.2.1), sent before reading a body the client holds back.
    package static func writeContinue(into buffer: inout [UInt8]) {
        buffer.append("HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// Status line and fields up to, not including, Content-Length and the empty line.
    private static func writeHead(
        status: Int, contentType: String?, close: Bool, announceKeepAlive: Bool, headers: [Field],
        into buffer: inout [UInt8]
    ) {
        buffer.append("HTTP/1.1 ")
        buffer.appendDecimal(status)
        buffer.append(ASCII.space)
        buffer.append(HTTPStatus.reasonPhrase(for: status))
        buffer.append("\r\n")
        if let contentType { appendField("Content-Type", contentType, to: &buffer) }
        if close {
            buffer.append("Connection: close\r\n")
        } else if announceKeepAlive {
            buffer.append("Connection: keep-alive\r\n")
        }
        for field in headers { appendField(field.name, field.value, to: &buffer) }
    }
}
