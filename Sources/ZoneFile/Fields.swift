import DNSWire

/// The tokens of one entry with a read position: what the directive, record and RDATA parsers consume.
///
/// Every accessor names the field it reads (`"SRV port"`), so a failure becomes `missingField` at the
/// end of the entry or `badField` at the token, with the right location either way.
struct Fields {
    let lexer: Lexer
    let tokens: [Token]
    private(set) var index = 0

    init(lexer: Lexer, tokens: [Token]) {
        self.lexer = lexer
        self.tokens = tokens
    }

    var isAtEnd: Bool { index >= tokens.count }

    func peek() -> Token? { isAtEnd ? nil : tokens[index] }

    /// The next token, or `missingField(field)` located just after the entry's last token.
    mutating func next(_ field: String) throws(ZoneFileError) -> Token {
        guard index < tokens.count else {
            let location = tokens.last.map { lexer.location(after: $0) } ?? lexer.endLocation
            throw ZoneFileError(.missingField(field), at: location)
        }
        defer { index += 1 }
        return tokens[index]
    }

    /// Throws `trailingData` at the first token not consumed.
    func finish() throws(ZoneFileError) {
        if let extra = peek() { throw lexer.error(.trailingData, at: extra) }
    }

    func text(_ token: Token) -> ArraySlice<UInt8> { lexer.text(of: token) }

    func error(_ kind: ZoneFileError.Kind, at token: Token) -> ZoneFileError { lexer.error(kind, at: token) }

    // MARK: - Typed fields

    /// A domain name, relative to `origin` unless it ends with a dot; `@` is the origin.
    func name(_ token: Token, origin: DomainName?) throws(ZoneFileError) -> DomainName {
        do {
            return try DomainName.parse(text(token), origin: origin).name
        } catch {
            throw self.error(.badName(error), at: token)
        }
    }

    mutating func name(_ field: String, origin: DomainName?) throws(ZoneFileError) -> DomainName {
        try name(try next(field), origin: origin)
    }

    mutating func uint16(_ field: String) throws(ZoneFileError) -> UInt16 {
        let token = try next(field)
        guard !token.quoted, let value = TextValues.decimal(text(token), maximum: 65535) else {
            throw error(.badField(field), at: token)
        }
        return UInt16(value)
    }

    mutating func uint32(_ field: String) throws(ZoneFileError) -> UInt32 {
        let token = try next(field)
        guard !token.quoted, let value = TextValues.decimal(text(token), maximum: 4_294_967_295) else {
            throw error(.badField(field), at: token)
        }
        return UInt32(value)
    }

    /// A TTL (at most 2147483647) or, with a larger `maximum`, an SOA timer; plain seconds or units.
    func duration(_ token: Token, field: String, maximum: UInt64 = TextValues.maxTTL) throws(ZoneFileError)
        -> UInt32
    {
        guard !token.quoted else { throw error(.badField(field), at: token) }
        switch TextValues.duration(text(token), maximum: maximum) {
        case .seconds(let value): return UInt32(value)
        case .malformed: throw error(.badField(field), at: token)
        case .tooLarge: throw error(.ttlOutOfRange, at: token)
        }
    }

    mutating func duration(_ field: String, maximum: UInt64) throws(ZoneFileError) -> UInt32 {
        try duration(try next(field), field: field, maximum: maximum)
    }

    /// One character-string (quoted or bare) with escapes decoded, at most 255 bytes (RFC 1035 §3.3).
    func characterString(_ token: Token) throws(ZoneFileError) -> [UInt8] {
        guard let bytes = TextValues.characterString(text(token)) else { throw error(.badEscape, at: token) }
        guard bytes.count <= 255 else { throw error(.stringTooLong, at: token) }
        return bytes
    }
}
