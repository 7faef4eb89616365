/// Why an HTTP message could not be parsed, and the status a server answers with.
///
/// Cases carry no strings, so building one allocates nothing; `reason` renders a short text for the
/// `{"error": ...}` body. A parser that throws one stays failed: the caller answers (for a request)
/// and closes the connection, because the framing of whatever follows is unknown.
package enum HTTPParseError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The request line is not `method SP request-target SP HTTP-version` (RFC 9112 §3).
    case badRequestLine
    /// The request-target is not origin-, absolute- or asterisk-form, or its percent-encoding is bad
    /// (RFC 9112 §3.2, RFC 3986 §2.1).
    case badTarget
    /// A well-formed version other than HTTP/1.x (RFC 9110 §15.6.6: 505).
    case unsupportedVersion
    /// A field line without a colon, or with an empty or invalid field name (RFC 9112 §5).
    case badHeader
    /// "No whitespace is allowed between the field name and colon" (RFC 9112 §5.1).
    case whitespaceBeforeColon
    /// A field line starting with whitespace: obsolete line folding, rejected (RFC 9112 §5.2).
    case obsoleteLineFolding
    /// A CR not followed by LF (RFC 9112 §2.2).
    case bareCarriageReturn
    /// NUL or another control character in a field value or start line (RFC 9110 §5.5).
    case controlCharacter
    /// A Content-Length that is not `1*DIGIT` or does not fit in an `Int` (RFC 9110 §8.6).
    case badContentLength
    /// Several Content-Length values that differ (RFC 9112 §6.3 rule 5).
    case conflictingContentLength
    /// The head (start line and fields) is larger than the limit.
    case headTooLarge(limit: Int)
    /// The declared body is larger than the limit; detected from Content-Length before the body.
    case bodyTooLarge(limit: Int)
    /// A request with Transfer-Encoding: request bodies must carry Content-Length (RFC 9110 §15.5.12: 411).
    case lengthRequired
    /// A response status line that is not `HTTP-version SP 3DIGIT [SP reason]` (RFC 9112 §4).
    case badStatusLine
    /// A malformed chunk-size line or chunk terminator (RFC 9112 §7.1).
    case badChunk
    /// A chunk larger than the response parser's limit.
    case chunkTooLarge(limit: Int)
    /// The connection closed in the middle of a message.
    case truncated

    /// The status a server answers with. Response-side failures map to 502 (a bad upstream).
    package var status: Int {
        switch self {
        case .badRequestLine, .badTarget, .badHeader, .whitespaceBeforeColon, .obsoleteLineFolding,
            .bareCarriageReturn, .controlCharacter, .badContentLength, .conflictingContentLength:
            400
        case .lengthRequired: 411
        case .bodyTooLarge: 413
        case .headTooLarge: 431
        case .unsupportedVersion: 505
        case .badStatusLine, .badChunk, .chunkTooLarge, .truncated: 502
        }
    }

    /// A short, lower-case reason naming what was wrong (and the limit, for the size errors).
    package var reason: String {
        switch self {
        case .badRequestLine: "malformed request line"
        case .badTarget: "malformed request target"
        case .unsupportedVersion: "unsupported HTTP version"
        case .badHeader: "malformed header field"
        case .whitespaceBeforeColon: "whitespace before colon in header field"
        case .obsoleteLineFolding: "obsolete line folding in header"
        case .bareCarriageReturn: "bare CR in request head"
        case .controlCharacter: "control character in request head"
        case .badContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length values"
        case .headTooLarge(let limit): "request head larger than \(limit) bytes"
        case .bodyTooLarge(let limit): "body larger than \(limit) bytes"
        case .lengthRequired: "Transfer-Encoding not supported; send Content-Length"
        case .badStatusLine: "malformed status line"
        case .badChunk: "malformed chunked encoding"
        case .chunkTooLarge(let limit): "chunk larger than \(limit) bytes"
        case .truncated: "connection closed mid-message"
        }
    }

    package var description: String { "\(status) \(reason)" }
}
