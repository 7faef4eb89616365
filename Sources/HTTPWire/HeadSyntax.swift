/// The parts of RFC 9112 shared by requests and responses: finding where a head ends, splitting it
/// into lines, and parsing field lines into `HTTPHeaders` plus the fields that decide framing.
///
/// Line endings: CRLF, or a lone LF, which RFC 9112 §2.2 lets a recipient accept ("a recipient MAY
/// recognize a single LF as a line terminator and ignore any preceding CR"). A CR anywhere else is
/// a bare CR and rejected.

/// Where the head being received ends, as far as the bytes so far tell.
enum HeadScan: Equatable {
    /// The head ends just before `end` (after its empty line).
    case complete(end: Int)
    /// No empty line yet; resume the search at `resume` when more bytes arrive.
    case incomplete(resume: Int)
}

/// Searches `raw[from...]` for the empty line that ends a head.
///
/// Each LF is looked at once: an LF followed by LF or CRLF ends the head. An LF too close to the end
/// to decide is where the next search resumes, so a head fed one byte at a time is scanned in linear time.
func scanForHeadEnd(_ raw: UnsafeRawBufferPointer, from: Int) -> HeadScan {
    let count = raw.count
    var i = from
    while i < count {
        if raw[i] == ASCII.lf {
            guard i + 1 < count else { return .incomplete(resume: i) }
            let next = raw[i + 1]
            if next == ASCII.lf { return .complete(end: i + 2) }
            if next == ASCII.cr {
                guard i + 2 < count else { return .incomplete(resume: i) }
                if raw[i + 2] == ASCII.lf { return .complete(end: i + 3) }
            }
        }
        i += 1
    }
    return .incomplete(resume: count)
}

/// The offset after any empty lines at the start of `raw`, or nil while `raw` is nothing but (the start
/// of) empty lines. RFC 9112 §2.2: a server "SHOULD ignore at least one empty line (CRLF) received prior
/// to the request-line"; clients send one after a POST body.
func skipLeadingEmptyLines(_ raw: UnsafeRawBufferPointer) -> Int? {
    var i = 0
    while i < raw.count {
        if raw[i] == ASCII.lf {
            i += 1
        } else if raw[i] == ASCII.cr {
            guard i + 1 < raw.count else { return nil }
            guard raw[i + 1] == ASCII.lf else { return i }
            i += 2
        } else {
            return i
        }
    }
    return nil
}

/// Hands out the lines of a complete head, without their terminators; nil at the empty line.
struct LineCursor {
    let raw: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ raw: UnsafeRawBufferPointer, from: Int, to end: Int) {
        self.raw = raw
        self.position = from
        self.end = end
    }

    mutating func nextLine() -> Range<Int>? {
        var i = position
        while i < end && raw[i] != ASCII.lf { i += 1 }
        guard i < end else { return nil }
        var lineEnd = i
        if lineEnd > position && raw[lineEnd - 1] == ASCII.cr { lineEnd -= 1 }
        let line = position..<lineEnd
        position = i + 1
        return line.isEmpty ? nil : line
    }
}

/// What the fields say about framing and the connection (RFC 9112 §6, §9.3; RFC 9110 §10.1.1).
struct FramingFields {
    var contentLength: Int?
    var hasTransferEncoding = false
    /// Whether the last transfer coding of the last Transfer-Encoding field is `chunked`.
    var chunked = false
    var connectionClose = false
    var connectionKeepAlive = false
    var expectContinue = false

    /// Folds one field into the framing facts. Only the names below are looked at, matched on bytes.
    mutating func note(_ raw: UnsafeRawBufferPointer, name: Range<Int>, value: Range<Int>) throws(HTTPParseError) {
        switch name.count {
        case 14 where raw.equalsIgnoringCase(name, "content-length"):
            let length = try Self.parseContentLength(raw, value)
            if let existing = contentLength, existing != length { throw .conflictingContentLength }
            contentLength = length
        case 17 where raw.equalsIgnoringCase(name, "transfer-encoding"):
            hasTransferEncoding = true
            var last: Range<Int>?
            forEachListElement(raw, value) { last = $0 }
            chunked = last.map { raw.equalsIgnoringCase($0, "chunked") } ?? false
        case 10 where raw.equalsIgnoringCase(name, "connection"):
            forEachListElement(raw, value) { option in
                if raw.equalsIgnoringCase(option, "close") { connectionClose = true }
                if raw.equalsIgnoringCase(option, "keep-alive") { connectionKeepAlive = true }
            }
        case 6 where raw.equalsIgnoringCase(name, "expect"):
            if raw.equalsIgnoringCase(value, "100-continue") { expectContinue = true }
        default:
            break
        }
    }

    /// `Content-Length = 1*DIGIT` (RFC 9110 §8.6). A list of identical values (`42, 42`) is accepted as
    /// that section allows; differing values conflict.
    static func parseContentLength(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>) throws(HTTPParseError) -> Int {
        var result: Int?
        var start = value.lowerBound
        while true {
            var end = start
            while end < value.upperBound && raw[end] != ASCII.comma { end += 1 }
            let length = try parseDecimal(raw, trimmingWhitespace(raw, start..<end))
            if let result, result != length { throw .conflictingContentLength }
            result = length
            guard end < value.upperBound else { return length }
            start = end + 1
        }
    }

    /// `1*DIGIT` as an `Int`; empty, non-digit or overflowing input is a bad Content-Length.
    private static func parseDecimal(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HTTPParseError) -> Int {
        guard !range.isEmpty else { throw .badContentLength }
        var n = 0
        for i in range {
            let b = raw[i]
            guard ASCII.isDigit(b) else { throw .badContentLength }
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(b - ASCII.zero))
            guard !o1 && !o2 else { throw .badContentLength }
            n = sum
        }
        return n
    }
}

/// `range` without leading and trailing SP and HTAB (RFC 9110 §5.6.3 OWS).
func trimmingWhitespace(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
    var s = range.lowerBound
    var e = range.upperBound
    while s < e && ASCII.isWhitespace(raw[s]) { s += 1 }
    while e > s && ASCII.isWhitespace(raw[e - 1]) { e -= 1 }
    return s..<e
}

/// Calls `body` with each non-empty comma-separated element of a field value, trimmed of OWS
/// (RFC 9110 §5.6.1: empty elements are allowed and ignored).
func forEachListElement(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Range<Int>) -> Void) {
    var start = value.lowerBound
    var i = value.lowerBound
    while true {
        if i == value.upperBound || raw[i] == ASCII.comma {
            let element = trimmingWhitespace(raw, start..<i)
            if !element.isEmpty { body(element) }
            if i == value.upperBound { return }
            start = i + 1
        }
        i += 1
    }
}

/// Parses the field lines left in `lines` (RFC 9112 §5): `field-name ":" OWS field-value OWS`.
func parseFieldLines(_ lines: inout LineCursor) throws(HTTPParseError) -> (HTTPHeaders, FramingFields) {
    let raw = lines.raw
    var headers = HTTPHeaders()
    headers.reserveCapacity(8)
    var framing = FramingFields()
    while let line = lines.nextLine() {
        let (name, value) = try parseFieldLine(raw, line)
        try framing.note(raw, name: name, value: value)
        headers.add(name: raw.string(name), value: raw.string(value))
    }
    return (headers, framing)
}

/// Splits one field line into its name and its value without surrounding whitespace.
func parseFieldLine(
    _ raw: UnsafeRawBufferPointer, _ line: Range<Int>
) throws(HTTPParseError) -> (name: Range<Int>, value: Range<Int>) {
    if ASCII.isWhitespace(raw[line.lowerBound]) { throw .obsoleteLineFolding }
    var colon = line.lowerBound
    while colon < line.upperBound && raw[colon] != ASCII.colon { colon += 1 }
    guard colon < line.upperBound else {
        try validateFieldContent(raw, line)
        throw .badHeader
    }
    for i in line.lowerBound..<colon {
        let b = raw[i]
        if ASCII.isWhitespace(b) { throw .whitespaceBeforeColon }
        guard ASCII.isTokenCharacter(b) else { throw nonTokenError(b) }
    }
    guard colon > line.lowerBound else { throw .badHeader }
    let value = trimmingWhitespace(raw, colon + 1..<line.upperBound)
    try validateFieldContent(raw, value)
    return (line.lowerBound..<colon, value)
}

/// Checks `field-vchar` content (RFC 9110 §5.5): HTAB, SP, VCHAR and obs-text; no CR, NUL or other CTL.
/// The reason phrase of a status line has the same grammar.
func validateFieldContent(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HTTPParseError) {
    for i in range {
        let b = raw[i]
        if b < ASCII.space && b != ASCII.tab || b == ASCII.delete {
            throw b == ASCII.cr ? .bareCarriageReturn : .controlCharacter
        }
    }
}

/// The error for a byte that may not appear in a token: CR and CTLs get their own cases.
func nonTokenError(_ b: UInt8) -> HTTPParseError {
    if b == ASCII.cr { return .bareCarriageReturn }
    if b < ASCII.space || b == ASCII.delete { return .controlCharacter }
    return .badHeader
}
