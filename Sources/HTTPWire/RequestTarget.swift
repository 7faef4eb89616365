/// Decoding a request-target (RFC 9112 §3.2) into a path and query items.
///
/// Accepted forms: origin-form (`/path?query`), absolute-form (`http://host/path?query`, which a server
/// "MUST accept", §3.2.2) reduced to its path and query, and asterisk-form (`*`). The path is kept as
/// received (`rawPath`, what routing splits into segments before decoding each) and percent-decoded
/// (RFC 3986 §2.1) with `+` left alone; query items are split on `&` and the first `=`, and decoded as
/// HTML forms do, with `+` meaning space. Decoded bytes must be UTF-8 without NUL. A `#` (fragments
/// are never sent, RFC 9112 §3.2) or a bad `%` escape is `HTTPParseError.badTarget`.
enum RequestTarget {
    typealias QueryItem = (name: String, value: String)

    /// Decodes `raw`, the target's bytes, already checked to be visible ASCII.
    static func decode(_ raw: UnsafeRawBufferPointer) throws(HTTPParseError) -> (
        target: String, rawPath: String, path: String, query: [QueryItem]
    ) {
        if raw.count == 1 && raw[0] == ASCII.asterisk { return ("*", "*", "*", []) }
        let pathStart = try originStart(raw)
        var pathEnd = pathStart
        var hasPercent = false
        while pathEnd < raw.count {
            let b = raw[pathEnd]
            if b == ASCII.question { break }
            if b == ASCII.hash { throw .badTarget }
            if b == ASCII.percent { hasPercent = true }
            pathEnd += 1
        }
        let rawPath = pathStart == pathEnd ? "/" : raw.string(pathStart..<pathEnd)
        // Without escapes the decoded path is the raw one: the same string, no second copy.
        let path = hasPercent ? try decodeComponent(raw, pathStart..<pathEnd, plusIsSpace: false) : rawPath
        guard pathEnd < raw.count else {
            // The common case (`/v1/instances/abc/heartbeat`): the target is the path, one string.
            return (pathStart == 0 ? rawPath : raw.string(0..<raw.count), rawPath, path, [])
        }
        let query = try decodeQuery(raw, pathEnd + 1..<raw.count)
        return (raw.string(0..<raw.count), rawPath, path, query)
    }

    /// The segments of `rawPath` between `/`s (empty ones dropped), each percent-decoded after the
    /// split, so an encoded `%2F` stays inside its segment.
    static func pathSegments(_ rawPath: String) -> [String] {
        var rawPath = rawPath
        return rawPath.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            var segments: [String] = []
            var start = 0
            for end in 0...raw.count where end == raw.count || raw[end] == ASCII.slash {
                if end > start {
                    // The parser already decoded the whole path, so a segment of it cannot fail.
                    let segment = try? decodeComponent(raw, start..<end, plusIsSpace: false)
                    segments.append(segment ?? raw.string(start..<end))
                }
                start = end + 1
            }
            return segments
        }
    }

    /// Where the path starts: 0 in origin-form; after `scheme://authority` in absolute-form.
    private static func originStart(_ raw: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        if raw[0] == ASCII.slash { return 0 }
        let schemeLength: Int
        if raw.count >= 7 && raw.equalsIgnoringCase(0..<7, "http://") {
            schemeLength = 7
        } else if raw.count >= 8 && raw.equalsIgnoringCase(0..<8, "https://") {
            schemeLength = 8
        } else {
            throw .badTarget
        }
        var i = schemeLength
        while i < raw.count && raw[i] != ASCII.slash && raw[i] != ASCII.question { i += 1 }
        guard i > schemeLength else { throw .badTarget }
        return i
    }

    /// Splits `name=value&name=value`; empty items (`a&&b`) are skipped and a missing `=` means an empty value.
    static func decodeQuery(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HTTPParseError) -> [QueryItem] {
        var items: [QueryItem] = []
        var itemStart = range.lowerBound
        var equals: Int?
        var i = range.lowerBound
        while true {
            let atEnd = i == range.upperBound
            if atEnd || raw[i] == ASCII.ampersand {
                if itemStart < i {
                    let nameEnd = equals ?? i
                    let name = try decodeComponent(raw, itemStart..<nameEnd, plusIsSpace: true)
                    let value = equals.map { $0 + 1 } ?? i
                    items.append((name, try decodeComponent(raw, value..<i, plusIsSpace: true)))
                }
                if atEnd { return items }
                itemStart = i + 1
                equals = nil
            } else if raw[i] == ASCII.equals && equals == nil {
                equals = i
            }
            i += 1
        }
    }

    /// Percent-decodes `range`, with `+` as space when `plusIsSpace`.
    static func decodeComponent(
        _ raw: UnsafeRawBufferPointer, _ range: Range<Int>, plusIsSpace: Bool
    ) throws(HTTPParseError) -> String {
        var plain = true
        for i in range where raw[i] == ASCII.percent || (plusIsSpace && raw[i] == ASCII.plus) {
            plain = false
            break
        }
        if plain { return raw.string(range) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let b = raw[i]
            if b == ASCII.percent {
                guard i + 2 < range.upperBound, let high = ASCII.hexValue(raw[i + 1]),
                    let low = ASCII.hexValue(raw[i + 2])
                else { throw .badTarget }
                let byte = high << 4 | low
                guard byte != 0 else { throw .badTarget }
                decoded.append(byte)
                i += 3
            } else {
                decoded.append(plusIsSpace && b == ASCII.plus ? ASCII.space : b)
                i += 1
            }
        }
        guard let string = String(validating: decoded, as: UTF8.self) else { throw .badTarget }
        return string
    }
}
