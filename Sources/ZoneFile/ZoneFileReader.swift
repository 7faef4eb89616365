import DNSWire

/// A record as parsed, with where its owner and type were written, for errors found later.
package struct LocatedRecord: Sendable, Equatable {
    package var record: ResourceRecord
    /// The owner token, or column 1 of the line when the owner was left blank.
    package var ownerLocation: SourceLocation
    package var typeLocation: SourceLocation
}

/// Reads records one at a time from a master file, following `$INCLUDE`s: the incremental layer
/// under `ZoneFileParser.parse`, which adds the zone-level checks.
///
/// State carried from entry to entry (RFC 1035 §5.1):
/// - the origin, from the caller and then `$ORIGIN`; a relative `$ORIGIN` is relative to the current one;
/// - the previous owner, used by a line that starts with white space;
/// - the TTL: an explicit one, else the last `$TTL`, else the previous record's, as in BIND. With none of
///   these the record is an error (`noTTL`). BIND 9.18 instead warns "no TTL specified; using SOA MINTTL
///   instead" and goes on; we have no warning channel, and a zone whose every TTL silently became the
///   negative-caching MINIMUM (5 s in `local.zone`) is worse than a start-up error naming the line;
/// - the class: IN unless written, and only IN is accepted, so inheriting it is trivial.
///
/// An included file starts with the including file's origin (or the one given after the path) and no
/// previous owner; when it ends, the includer's origin and owner come back (RFC 1035 §5.1: "a $INCLUDE
/// entry never changes the relative origin of the parent file"; BIND restores the owner too). `$TTL`
/// and the TTL inheritance carry across. Nesting stops at `ZoneFileParser.maxIncludeDepth`, and one
/// parse loads at most `ZoneFileParser.maxIncludes` files, so a file that includes itself several
/// times cannot make the work grow exponentially.
package struct ZoneFileReader {
    private struct Frame {
        var lexer: Lexer
        var origin: DomainName?
        var owner: DomainName?
    }

    /// Open files, the top one first; never empty.
    private var frames: [Frame]
    /// Reused for every entry.
    private var tokens: [Token] = []
    private var defaultTTL: UInt32?
    private var previousTTL: UInt32?
    private var includesLoaded = 0

    /// - Parameters:
    ///   - text: the file's bytes.
    ///   - fileName: how errors name the file.
    ///   - origin: the origin until a `$ORIGIN`; with nil, relative names are errors until one.
    package init(_ text: [UInt8], fileName: String, origin: DomainName?) {
        frames = [Frame(lexer: Lexer(bytes: text, fileName: fileName), origin: origin, owner: nil)]
    }

    /// The end of the top file, once `next` has returned nil.
    package var endLocation: SourceLocation { frames[0].lexer.endLocation }

    /// The next record, or nil at the end of the top file.
    ///
    /// - Parameter loadInclude: returns the bytes of a path given to `$INCLUDE`, or throws.
    /// - Throws: the first error, located in whichever file it is in.
    package mutating func next(loadInclude: (String) throws -> [UInt8]) throws(ZoneFileError) -> LocatedRecord? {
        while true {
            let depth = frames.count - 1
            guard let startsWithBlank = try frames[depth].lexer.nextEntry(into: &tokens) else {
                guard depth > 0 else { return nil }
                frames.removeLast()
                continue
            }
            var fields = Fields(lexer: frames[depth].lexer, tokens: tokens)
            if !startsWithBlank, let first = fields.peek(), !first.quoted, fields.text(first).first == .dollar {
                try directive(&fields, loadInclude: loadInclude)
                continue
            }
            return try record(&fields, startsWithBlank: startsWithBlank)
        }
    }

    // MARK: - Records

    private mutating func record(_ fields: inout Fields, startsWithBlank: Bool) throws(ZoneFileError)
        -> LocatedRecord
    {
        let depth = frames.count - 1
        let origin = frames[depth].origin
        let owner: DomainName
        let ownerLocation: SourceLocation
        if startsWithBlank {
            let line = fields.peek()?.line ?? 1
            ownerLocation = SourceLocation(file: fields.lexer.fileName, line: line, column: 1)
            guard let previous = frames[depth].owner else {
                throw ZoneFileError(.noPreviousOwner, at: ownerLocation)
            }
            owner = previous
        } else {
            let token = try fields.next("owner")
            owner = try fields.name(token, origin: origin)
            ownerLocation = fields.lexer.location(of: token)
            frames[depth].owner = owner
        }

        // RFC 1035 §5.1: "<domain-name> [<TTL>] [<class>] <type> <RDATA>", TTL and class in either order.
        var ttl: UInt32? = nil
        var rrClass: RRClass? = nil
        var typeToken = try fields.next("type")
        while !typeToken.quoted {
            let text = fields.text(typeToken)
            if ttl == nil, let first = text.first, first.isDigit {
                ttl = try fields.duration(typeToken, field: "TTL")
            } else if rrClass == nil, let value = TextValues.rrClass(text) {
                guard value == .in else { throw fields.error(.unsupportedClass, at: typeToken) }
                rrClass = value
            } else {
                break
            }
            typeToken = try fields.next("type")
        }
        guard !typeToken.quoted, let type = TextValues.type(fields.text(typeToken)) else {
            throw fields.error(.unknownType, at: typeToken)
        }
        guard !type.isQueryOnly else { throw fields.error(.typeNotAllowed, at: typeToken) }
        guard let resolvedTTL = ttl ?? defaultTTL ?? previousTTL else {
            throw ZoneFileError(.noTTL, at: ownerLocation)
        }
        let rdata = try fields.rdata(type: type, typeToken: typeToken, origin: origin)
        try fields.finish()
        previousTTL = resolvedTTL
        return LocatedRecord(
            record: ResourceRecord(name: owner, type: type, rrClass: .in, ttl: resolvedTTL, rdata: rdata),
            ownerLocation: ownerLocation, typeLocation: fields.lexer.location(of: typeToken))
    }

    // MARK: - Directives

    private mutating func directive(_ fields: inout Fields, loadInclude: (String) throws -> [UInt8])
        throws(ZoneFileError)
    {
        let depth = frames.count - 1
        let word = try fields.next("directive")
        switch Self.directiveName(fields.text(word)) {
        case "$ORIGIN":
            let origin = try fields.name("$ORIGIN name", origin: frames[depth].origin)
            try fields.finish()
            frames[depth].origin = origin
        case "$TTL":
            let ttl = try fields.duration(try fields.next("$TTL value"), field: "TTL")
            try fields.finish()
            defaultTTL = ttl
        case "$INCLUDE":
            let pathToken = try fields.next("$INCLUDE file name")
            guard let pathBytes = TextValues.characterString(fields.text(pathToken)), !pathBytes.isEmpty else {
                throw fields.error(.badField("$INCLUDE file name"), at: pathToken)
            }
            var origin = frames[depth].origin
            if !fields.isAtEnd { origin = try fields.name("$INCLUDE origin", origin: origin) }
            try fields.finish()
            guard depth < ZoneFileParser.maxIncludeDepth else { throw fields.error(.includeTooDeep, at: pathToken) }
            guard includesLoaded < ZoneFileParser.maxIncludes else {
                throw fields.error(.tooManyIncludes, at: pathToken)
            }
            includesLoaded += 1
            let path = String(decoding: pathBytes, as: UTF8.self)
            let bytes: [UInt8]
            do {
                bytes = try loadInclude(path)
            } catch {
                throw fields.error(.includeFailed(String(describing: error)), at: pathToken)
            }
            frames.append(Frame(lexer: Lexer(bytes: bytes, fileName: path), origin: origin, owner: nil))
        default:
            throw fields.error(.unknownDirective, at: word)
        }
    }

    /// The directive upper-cased, or "" when it is too long to be one.
    private static func directiveName(_ text: ArraySlice<UInt8>) -> String {
        guard text.count <= 8 else { return "" }
        return String(decoding: text.map(\.asciiUppercased), as: UTF8.self)
    }
}
