/// A strict RFC 8259 JSON parser over bytes.
///
/// Strict means: UTF-8 input with no byte-order mark; exactly one value with optional whitespace
/// (SP, HTAB, LF, CR) around it; no comments, trailing commas, single quotes, leading zeros, `NaN` or
/// `Infinity`; strings without raw control characters and with valid escapes, where a `\uXXXX` surrogate
/// must be half of a pair. Nesting is capped (default 64) so hostile input cannot exhaust the stack.
/// A repeated key in one object is rejected (`duplicate key "port"`) rather than silently kept or
/// dropped: RFC 8259 §4 leaves duplicates' meaning undefined, and a registration should never be
/// decided by which copy of `port` a parser happened to keep.
package enum JSONParser {
    package static let defaultMaxDepth = 64

    /// Parses one JSON text.
    /// - Parameter maxDepth: how many arrays and objects may nest; the 65th `[` is an error by default.
    /// - Throws: `JSONError` with the byte offset of the first problem.
    package static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw, maxDepth: maxDepth)
            do throws(JSONError) {
                return .success(try scanner.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses JSON text given as a string (its UTF-8).
    package static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

/// The cursor behind `JSONParser`: recursive descent over borrowed bytes.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    let maxDepth: Int
    var depth = 0
    /// Reused for strings with escapes, so only the finished `String` is allocated.
    var scratch: [UInt8] = []

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        guard offset == bytes.count else { throw error("unexpected data after the value") }
        return value
    }

    private func error(_ message: String, at position: Int? = nil) -> JSONError {
        JSONError(offset: position ?? offset, message: message)
    }

    /// The error for an unexpected byte: a premature end, or `message` naming what was expected.
    private func unexpected(_ message: String) -> JSONError {
        offset >= bytes.count ? error("unexpected end of input") : error(message)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard offset < bytes.count else { throw error("unexpected end of input") }
        switch bytes[offset] {
        case 0x7B: return try parseObject()
        case 0x5B: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case 0x74: return try parseLiteral("true", .bool(true))
        case 0x66: return try parseLiteral("false", .bool(false))
        case 0x6E: return try parseLiteral("null", .null)
        case ASCII.minus, ASCII.zero...ASCII.nine: return .number(try parseNumber())
        default: throw error("expected a value")
        }
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard bytes.count - offset >= count,
            UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
                .elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw error("invalid literal") }
        offset += count
        return value
    }

    private mutating func parseNumber() throws(JSONError) -> JSONNumber {
        switch JSONNumber.scan(bytes, from: offset) {
        case .success(let end):
            defer { offset = end }
            return JSONNumber(uncheckedLiteral: bytes.string(offset..<end))
        case .failure(.leadingZero(let position)):
            throw error("leading zero in number", at: position)
        case .failure(.missingDigit(let position)):
            throw position >= bytes.count
                ? error("unexpected end of input", at: position) : error("expected a digit", at: position)
        }
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth)") }
        offset += 1
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        var elements: [JSONValue] = []
        skipWhitespace()
        if offset < bytes.count && bytes[offset] == 0x5D {
            offset += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard offset < bytes.count else { throw error("unexpected end of input") }
            if bytes[offset] == ASCII.comma {
                offset += 1
                continue
            }
            guard bytes[offset] == 0x5D else { throw error("expected ',' or ']'") }
            offset += 1
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enter()
        var members: [JSONValue.Member] = []
        skipWhitespace()
        if offset < bytes.count && bytes[offset] == 0x7D {
            offset += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == ASCII.quote else { throw unexpected("expected a string key") }
            let keyOffset = offset
            let key = try parseString()
            if Self.contains(members, key) { throw error("duplicate key \(Self.quoted(key))", at: keyOffset) }
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == ASCII.colon else { throw unexpected("expected ':'") }
            offset += 1
            members.append((key, try parseValue()))
            skipWhitespace()
            guard offset < bytes.count else { throw error("unexpected end of input") }
            if bytes[offset] == ASCII.comma {
                offset += 1
                continue
            }
            guard bytes[offset] == 0x7D else { throw error("expected ',' or '}'") }
            offset += 1
            depth -= 1
            return .object(members)
        }
    }

    /// Linear for the small objects APIs exchange; a set beyond that keeps big objects linear overall.
    private static func contains(_ members: [JSONValue.Member], _ key: String) -> Bool {
        if members.count < 16 { return members.contains { $0.key == key } }
        return Set(members.lazy.map(\.key)).contains(key)
    }

    /// A key for an error message: JSON-quoted and cut short, so a message stays one short line.
    private static func quoted(_ key: String) -> String {
        var writer = JSONWriter()
        writer.string(key.count > 40 ? String(key.prefix(40)) + "…" : key)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    // MARK: - Strings

    /// Parses a string at the opening quote (RFC 8259 §7). The common case (no escapes) makes the string
    /// straight from the input bytes.
    private mutating func parseString() throws(JSONError) -> String {
        let start = offset + 1
        var i = start
        var bits: UInt8 = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == ASCII.quote {
                let range = start..<i
                offset = i + 1
                if bits < 0x80 { return bytes.string(range) }
                guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                else { throw error("invalid UTF-8 in string", at: start - 1) }
                return text
            }
            if b == ASCII.backslash { return try parseEscapedString(start: start, firstEscape: i) }
            if b < 0x20 { throw error("control character in string", at: i) }
            bits |= b
            i += 1
        }
        throw error("unexpected end of input", at: i)
    }

    private mutating func parseEscapedString(start: Int, firstEscape: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<firstEscape]))
        var i = firstEscape
        while i < bytes.count {
            let b = bytes[i]
            if b == ASCII.quote {
                offset = i + 1
                guard let text = String(validating: scratch, as: UTF8.self)
                else { throw error("invalid UTF-8 in string", at: start - 1) }
                return text
            }
            if b < 0x20 { throw error("control character in string", at: i) }
            guard b == ASCII.backslash else {
                scratch.append(b)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { throw error("unexpected end of input", at: i + 1) }
            switch bytes[i + 1] {
            case ASCII.quote, ASCII.backslash, ASCII.slash: scratch.append(bytes[i + 1])
            case 0x62: scratch.append(0x08)
            case 0x66: scratch.append(0x0C)
            case 0x6E: scratch.append(ASCII.lf)
            case 0x72: scratch.append(ASCII.cr)
            case 0x74: scratch.append(ASCII.tab)
            case 0x75:
                i = try appendUnicodeEscape(at: i)
                continue
            default: throw error("invalid escape", at: i)
            }
            i += 2
        }
        throw error("unexpected end of input", at: i)
    }

    /// Decodes `\uXXXX` at `i` (and its low-surrogate partner) into UTF-8; returns the offset after it.
    private mutating func appendUnicodeEscape(at i: Int) throws(JSONError) -> Int {
        let high = try hex4(at: i + 2)
        var scalarValue = UInt32(high)
        var end = i + 6
        if high & 0xFC00 == 0xD800 {
            guard end + 1 < bytes.count, bytes[end] == ASCII.backslash, bytes[end + 1] == 0x75 else {
                throw error("lone surrogate", at: i)
            }
            let low = try hex4(at: end + 2)
            guard low & 0xFC00 == 0xDC00 else { throw error("lone surrogate", at: i) }
            scalarValue = 0x10000 + (UInt32(high & 0x3FF) << 10 | UInt32(low & 0x3FF))
            end += 6
        } else if high & 0xFC00 == 0xDC00 {
            throw error("lone surrogate", at: i)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("lone surrogate", at: i) }
        if let encoded = UTF8.encode(scalar) { scratch.append(contentsOf: encoded) }
        return end
    }

    private func hex4(at position: Int) throws(JSONError) -> UInt16 {
        var value: UInt16 = 0
        for j in position..<position + 4 {
            guard j < bytes.count else { throw error("unexpected end of input", at: j) }
            guard let digit = ASCII.hexValue(bytes[j]) else { throw error("invalid \\u escape", at: j) }
            value = value << 4 | UInt16(digit)
        }
        return value
    }
}
