/// One word of an entry: a byte range of the file, bare or the inside of a `"quoted string"`.
///
/// Escapes are left in place (`\.`, `\"`, `\DDD`); whoever interprets the token decodes them.
struct Token {
    /// The first byte of the text (after the opening quote when `quoted`).
    var start: Int
    /// One past the last byte of the text (before the closing quote when `quoted`).
    var end: Int
    var line: Int
    /// The column of the first byte as written (the opening quote when `quoted`).
    var column: Int
    var quoted: Bool

    var count: Int { end - start }
}

/// Splits a master file into entries (RFC 1035 §5.1): one line, or several joined by parentheses.
///
/// `;` starts a comment to the end of the line except inside quotes; `\` escapes the byte after it
/// (so `\;`, `\(` and `\"` are text); spaces, tabs and CR separate tokens, which makes CRLF files
/// and a last line with no newline work. A UTF-8 byte order mark at the start is skipped.
struct Lexer {
    let bytes: [UInt8]
    let fileName: String
    private var position = 0
    private var line = 1
    private var lineStart = 0

    init(bytes: [UInt8], fileName: String) {
        self.bytes = bytes
        self.fileName = fileName
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            position = 3
            lineStart = 3
        }
    }

    // MARK: - Entries

    /// Reads the next non-empty entry into `tokens` (cleared first, capacity kept).
    ///
    /// - Returns: whether the entry's first line starts with white space (a blank owner),
    ///   or nil at the end of the file.
    /// - Throws: `unterminatedQuote` or `unbalancedParentheses`.
    mutating func nextEntry(into tokens: inout [Token]) throws(ZoneFileError) -> Bool? {
        tokens.removeAll(keepingCapacity: true)
        var startsWithBlank = false
        var openParenthesis: (line: Int, column: Int)? = nil
        let count = bytes.count
        while position < count {
            let byte = bytes[position]
            if position == lineStart, openParenthesis == nil, tokens.isEmpty {
                startsWithBlank = byte == .space || byte == .tab
            }
            switch byte {
            case .space, .tab, .carriageReturn:
                position += 1
            case .newline:
                position += 1
                line += 1
                lineStart = position
                if openParenthesis == nil, !tokens.isEmpty { return startsWithBlank }
            case .semicolon:
                while position < count, bytes[position] != .newline { position += 1 }
            case .openParenthesis:
                guard openParenthesis == nil else {
                    throw ZoneFileError(.unbalancedParentheses, at: here, token: "(")
                }
                openParenthesis = (line, column)
                position += 1
            case .closeParenthesis:
                guard openParenthesis != nil else {
                    throw ZoneFileError(.unbalancedParentheses, at: here, token: ")")
                }
                openParenthesis = nil
                position += 1
            case .quote:
                tokens.append(try quotedToken())
            default:
                tokens.append(bareToken())
            }
        }
        if let open = openParenthesis {
            throw ZoneFileError(
                .unbalancedParentheses, at: SourceLocation(file: fileName, line: open.line, column: open.column),
                token: "(")
        }
        return tokens.isEmpty ? nil : startsWithBlank
    }

    private mutating func quotedToken() throws(ZoneFileError) -> Token {
        let openLine = line
        let openColumn = column
        position += 1
        let start = position
        let count = bytes.count
        while true {
            guard position < count, bytes[position] != .newline else {
                throw ZoneFileError(
                    .unterminatedQuote, at: SourceLocation(file: fileName, line: openLine, column: openColumn))
            }
            let byte = bytes[position]
            if byte == .quote { break }
            position += 1
            // An escaped byte is text, even a quote; an escaped newline still ends the line.
            if byte == .backslash, position < count, bytes[position] != .newline { position += 1 }
        }
        let token = Token(start: start, end: position, line: openLine, column: openColumn, quoted: true)
        position += 1
        return token
    }

    private mutating func bareToken() -> Token {
        let start = position
        let startColumn = column
        let count = bytes.count
        scan: while position < count {
            let byte = bytes[position]
            switch byte {
            case .space, .tab, .carriageReturn, .newline, .semicolon, .openParenthesis, .closeParenthesis, .quote:
                break scan
            case .backslash:
                position += 1
                if position < count, bytes[position] != .newline { position += 1 }
            default:
                position += 1
            }
        }
        return Token(start: start, end: position, line: line, column: startColumn, quoted: false)
    }

    // MARK: - Locations and text

    private var column: Int { position - lineStart + 1 }

    private var here: SourceLocation { SourceLocation(file: fileName, line: line, column: column) }

    /// Where the end of the file is: the place to report what never came.
    var endLocation: SourceLocation { here }

    func location(of token: Token) -> SourceLocation {
        SourceLocation(file: fileName, line: token.line, column: token.column)
    }

    /// The place just after `token`, where a missing field was expected.
    func location(after token: Token) -> SourceLocation {
        SourceLocation(file: fileName, line: token.line, column: token.column + token.count + (token.quoted ? 2 : 0))
    }

    func text(of token: Token) -> ArraySlice<UInt8> { bytes[token.start..<token.end] }

    /// The token for an error message, shortened past `ZoneFileError.maxTokenLength` bytes.
    func display(_ token: Token) -> String {
        let text = self.text(of: token)
        guard text.count > ZoneFileError.maxTokenLength else { return String(decoding: text, as: UTF8.self) }
        return String(decoding: text.prefix(ZoneFileError.maxTokenLength), as: UTF8.self) + "..."
    }

    /// An error about `token`, naming it.
    func error(_ kind: ZoneFileError.Kind, at token: Token) -> ZoneFileError {
        ZoneFileError(kind, at: location(of: token), token: display(token))
    }
}

// MARK: - Bytes with a meaning in master files

extension UInt8 {
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let dollar = UInt8(ascii: "$")
    static let openParenthesis = UInt8(ascii: "(")
    static let closeParenthesis = UInt8(ascii: ")")
    static let semicolon = UInt8(ascii: ";")
    static let backslash = UInt8(ascii: "\\")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    var isDigit: Bool { self >= .zero && self <= .nine }

    /// ASCII letters upper-cased; other bytes unchanged.
    var asciiUppercased: UInt8 { self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z") ? self - 32 : self }
}
