import DNSWire

/// Where a token starts: the file as it was named to the parser (or as written after `$INCLUDE`),
/// and a 1-based line and column. Columns count bytes, so a tab is one column.
package struct SourceLocation: Equatable, Sendable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var column: Int

    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `zones/a.zone:12:7`, the form compilers and editors understand.
    package var description: String { "\(file):\(line):\(column)" }
}

/// Why a zone file was rejected, and where: the parser stops at the first error.
///
/// `token` is the offending text as written (shortened past `maxTokenLength` bytes), or nil when
/// the error is about something missing. The description reads `zones/a.zone:12:7: bad SRV port "x"`.
package struct ZoneFileError: Error, Equatable, Sendable, CustomStringConvertible {
    package var kind: Kind
    package var location: SourceLocation
    package var token: String?

    package init(_ kind: Kind, at location: SourceLocation, token: String? = nil) {
        self.kind = kind
        self.location = location
        self.token = token
    }

    /// Error text quotes at most this many bytes of a token.
    static let maxTokenLength = 80

    /// What is wrong. Cases that carry a `String` carry a fixed field name or a loader's reason,
    /// never input text (that is `token`).
    package enum Kind: Equatable, Sendable {
        // MARK: Lexical (RFC 1035 §5.1)
        /// A `"` with no closing `"` on the same line.
        case unterminatedQuote
        /// A `)` with no `(`, a `(` inside parentheses, or the end of the file inside them.
        case unbalancedParentheses
        /// `\` at the end of the input, or `\DDD` that is not three digits of at most 255.
        case badEscape

        // MARK: Entries
        /// A `$` word other than `$ORIGIN`, `$TTL` or `$INCLUDE`.
        case unknownDirective
        /// A field the entry needs is absent; the payload names it (`SRV port`).
        case missingField(String)
        /// A field that does not parse; the payload names it (`SRV port`).
        case badField(String)
        /// A name that breaks RFC 1035 §2.3.4 limits or is relative with no origin.
        case badName(DomainNameError)
        /// A line starts with white space but no earlier record gave an owner.
        case noPreviousOwner
        /// No explicit TTL, no `$TTL` and no earlier record to inherit from (BIND warns and takes the
        /// SOA MINIMUM; see `ZoneFileReader`).
        case noTTL
        /// A TTL beyond 2147483647 (RFC 2181 §8), or a timer beyond 4294967295.
        case ttlOutOfRange
        /// A word in the type position that is no RR type mnemonic nor `TYPEnnn`.
        case unknownType
        /// A meta or query-only type (RFC 6895 §3.1: OPT, ANY, AXFR...) used as data.
        case typeNotAllowed
        /// A class other than IN: Beacon serves only IN.
        case unsupportedClass
        /// A type with no presentation format here, written without RFC 3597 `\#` syntax.
        case genericSyntaxRequired
        /// A character-string longer than 255 bytes (RFC 1035 §3.3).
        case stringTooLong
        /// More text after a complete record or directive.
        case trailingData

        // MARK: Zone
        /// The file holds no record at all.
        case noSOA
        /// The first record is not an SOA, so the zone has no apex.
        case firstRecordNotSOA
        /// A second SOA record: one zone per file.
        case secondSOA
        /// An owner neither at nor below the apex.
        case outOfZone
        /// CNAME and other data at one owner (RFC 1034 §3.6.2), or two different CNAMEs.
        case cnameAndOtherData

        // MARK: $INCLUDE
        /// `$INCLUDE` nested deeper than `ZoneFileParser.maxIncludeDepth`.
        case includeTooDeep
        /// More `$INCLUDE`s than `ZoneFileParser.maxIncludes` in one parse.
        case tooManyIncludes
        /// The loader threw; the payload is its reason.
        case includeFailed(String)
    }

    package var message: String {
        let quoted = token.map { "\"\($0)\"" } ?? ""
        let named = token.map { " \"\($0)\"" } ?? ""
        switch kind {
        case .unterminatedQuote: return "unterminated quoted string"
        case .unbalancedParentheses: return "unbalanced parentheses"
        case .badEscape: return "bad escape in" + named
        case .unknownDirective: return "unknown directive " + quoted
        case .missingField(let field): return "missing \(field)"
        case .badField(let field): return "bad \(field)" + named
        case .badName(let reason): return "bad domain name" + named + ": \(reason)"
        case .noPreviousOwner: return "line starts with white space but no previous record gave an owner"
        case .noTTL: return "no TTL specified: give one, or set $TTL first"
        case .ttlOutOfRange: return "TTL out of range" + named
        case .unknownType: return "unknown type" + named
        case .typeNotAllowed: return "type" + named + " cannot appear as zone data"
        case .unsupportedClass: return "class" + named + " is not served (only IN)"
        case .genericSyntaxRequired:
            return "type" + named + " needs RFC 3597 generic RDATA: \\# length hex"
        case .stringTooLong: return "character-string longer than 255 bytes" + named
        case .trailingData: return "unexpected" + named + " after the end of the entry"
        case .noSOA: return "no records: the first record must be the zone's SOA"
        case .firstRecordNotSOA: return "first record must be the zone's SOA, not" + named
        case .secondSOA: return "second SOA record: one zone per file"
        case .outOfZone: return "out-of-zone data" + named
        case .cnameAndOtherData: return "CNAME and other data at" + named
        case .includeTooDeep:
            return "$INCLUDE nested more than \(ZoneFileParser.maxIncludeDepth) deep at" + named
        case .tooManyIncludes: return "more than \(ZoneFileParser.maxIncludes) $INCLUDEs at" + named
        case .includeFailed(let reason): return "cannot read $INCLUDE file" + named + ": \(reason)"
        }
    }

    package var description: String { "\(location): \(message)" }
}
