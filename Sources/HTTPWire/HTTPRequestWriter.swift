/// Writes HTTP/1.1 requests for Beacon's own clients (CLI, sidecar, etcd gateway), the counterpart of
/// `HTTPResponseParser`.
///
/// Always sends `Host` (RFC 9112 §3.2: "A client MUST send a Host header field in all HTTP/1.1 request
/// messages") and a Content-Length whenever there is a body or the method usually carries one, so the
/// server never has to guess the framing. Field values are sanitized as `HTTPResponse` does.
package enum HTTPRequestWriter {
    package typealias Field = (name: String, value: String)

    /// Appends a request to `buffer`.
    /// - Parameters:
    ///   - target: origin-form, already percent-encoded (`/v1/services/a/b?index=3&wait=30s`).
    ///   - host: the `Host` value, `host:port`.
    ///   - contentType: sent only with a body.
    ///   - close: sends `Connection: close` for a one-shot connection.
    package static func write(
        method: HTTPMethod, target: String, host: String, headers: [Field] = [], contentType: String? = nil,
        body: [UInt8] = [], close: Bool = false, into buffer: inout [UInt8]
    ) {
        appendSanitized(method.rawValue, to: &buffer)
        buffer.append(ASCII.space)
        appendSanitized(target, to: &buffer)
        buffer.append(" HTTP/1.1\r\nHost: ")
        appendSanitized(host, to: &buffer)
        buffer.append("\r\n")
        if close { buffer.append("Connection: close\r\n") }
        for field in headers { appendField(field.name, field.value, to: &buffer) }
        if !body.isEmpty, let contentType { appendField("Content-Type", contentType, to: &buffer) }
        switch method {
        case .post, .put, .patch:
            break
        default:
            guard !body.isEmpty else {
                buffer.append("\r\n")
                return
            }
        }
        buffer.append("Content-Length: ")
        buffer.appendDecimal(body.count)
        buffer.append("\r\n\r\n")
        buffer.append(contentsOf: body)
    }
}

/// Appends `name: value` CRLF with CR, LF and NUL turned into spaces.
func appendField(_ name: String, _ value: String, to buffer: inout [UInt8]) {
    appendSanitized(name, to: &buffer)
    buffer.append(": ")
    appendSanitized(value, to: &buffer)
    buffer.append("\r\n")
}

/// Appends `text` with CR, LF and NUL turned into spaces, so data can never end a line early. Spaces in
/// a request-target still break its request line, which the peer rejects: a bug shows, nothing is smuggled.
func appendSanitized(_ text: String, to buffer: inout [UInt8]) {
    let start = buffer.count
    buffer.append(contentsOf: text.utf8)
    for i in start..<buffer.count where buffer[i] == ASCII.cr || buffer[i] == ASCII.lf || buffer[i] == 0 {
        buffer[i] = ASCII.space
    }
}
