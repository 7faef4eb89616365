// ZoneFile: RFC 1035 §5 master files ("zone files") into records, with no I/O.
//
// Conventions: input is bytes, never decoded to String per character. `Lexer` splits them into
// entries of `Token`s, byte ranges with a line and a 1-based byte column, escapes left in place;
// `Fields` reads typed fields from one entry and turns every failure into a `ZoneFileError` that
// names `file:line:column` and the field; `ZoneFileReader` applies directives and the inheritance
// of owner, TTL and class and yields one `LocatedRecord` at a time; `ZoneAssembler` enforces the
// zone rules (SOA first, one zone per file, no out-of-zone data, CNAME alone). Parsing stops at the
// first error. `$INCLUDE` goes through a loader the caller passes in, so nothing here touches a file.
// No input traps: lengths are checked before use, numbers are bounded before they grow, and nesting
// (parentheses one level, includes `maxIncludeDepth`) is capped.

import DNSWire

/// One zone as loaded from a file.
package struct ZoneData: Sendable, Equatable {
    /// The apex: the owner of the SOA.
    package var origin: DomainName
    /// Every record in file order, the SOA first, with exact duplicates removed.
    package var records: [ResourceRecord]
    package var soa: ResourceRecord

    package init(origin: DomainName, records: [ResourceRecord], soa: ResourceRecord) {
        self.origin = origin
        self.records = records
        self.soa = soa
    }
}

/// Parses master files (RFC 1035 §5) holding exactly one zone each.
package enum ZoneFileParser {
    /// The deepest `$INCLUDE` nesting accepted; the top file is depth 0.
    package static let maxIncludeDepth = 8
    /// The most `$INCLUDE`s one parse follows in all.
    package static let maxIncludes = 256

    /// Parses one zone file.
    ///
    /// `defaultOrigin` is used until a $ORIGIN (the caller passes the file name minus `.zone`, e.g.
    /// `local.` for `local.zone`). `loadInclude` reads a $INCLUDE'd path (relative paths resolved by
    /// the caller) and returns its bytes, or throws.
    ///
    /// - Parameters:
    ///   - text: the file's bytes, in any line ending style.
    ///   - fileName: how error locations name the file (`zones/a.zone`).
    /// - Returns: the zone, whose apex is the owner of its first record, the SOA.
    /// - Throws: the first error, with its `file:line:column`.
    package static func parse(
        _ text: [UInt8], fileName: String, defaultOrigin: DomainName?, loadInclude: (String) throws -> [UInt8]
    ) throws(ZoneFileError) -> ZoneData {
        var reader = ZoneFileReader(text, fileName: fileName, origin: defaultOrigin)
        // Simple records take about 25 bytes a line; growing the tables by rehashing costs more than a guess.
        var assembler = ZoneAssembler(expectedRecords: text.count / 24)
        while let record = try reader.next(loadInclude: loadInclude) {
            try assembler.add(record)
        }
        return try assembler.zone(end: reader.endLocation)
    }
}
