import DNSWire
import Testing
import ZoneFile

/// One bad input and the exact error it must produce.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var label: String
    var text: String
    var origin: String? = "example."
    var kind: ZoneFileError.Kind
    /// The whole rendered error, `file:line:column: message`.
    var expected: String

    var testDescription: String { label }
}

/// Every error kind, each with the `file:line:column` of the offending token.
@Suite struct ErrorTests {
    static let long = String(repeating: "z", count: 256)

    static let cases: [ErrorCase] = [
        // Lexical
        ErrorCase(
            label: "a quote left open", text: zoneHead + "a TXT \"abc\n", kind: .unterminatedQuote,
            expected: "t.zone:3:7: unterminated quoted string"),
        ErrorCase(
            label: "a close parenthesis with no open one", text: zoneHead + "a A 192.0.2.1 )\n",
            kind: .unbalancedParentheses, expected: "t.zone:3:15: unbalanced parentheses"),
        ErrorCase(
            label: "nested parentheses", text: zoneHead + "a TXT ( ( x )\n", kind: .unbalancedParentheses,
            expected: "t.zone:3:9: unbalanced parentheses"),
        ErrorCase(
            label: "the end of the file inside parentheses", text: zoneHead + "a TXT ( x\ny",
            kind: .unbalancedParentheses,
            expected: "t.zone:3:7: unbalanced parentheses"),
        ErrorCase(
            label: "a decimal escape above 255", text: zoneHead + "a TXT \"a\\256\"\n", kind: .badEscape,
            expected: #"t.zone:3:7: bad escape in "a\256""#),
        ErrorCase(
            label: "a backslash at the end of the file", text: zoneHead + "a TXT b\\", kind: .badEscape,
            expected: #"t.zone:3:7: bad escape in "b\""#),
        // Directives
        ErrorCase(
            label: "an unknown directive", text: "$GENERATE 1-2 a A 192.0.2.1\n", kind: .unknownDirective,
            expected: #"t.zone:1:1: unknown directive "$GENERATE""#),
        ErrorCase(
            label: "$TTL with no value", text: "$TTL\n", kind: .missingField("$TTL value"),
            expected: "t.zone:1:5: missing $TTL value"),
        ErrorCase(
            label: "$ORIGIN with two names", text: "$ORIGIN a. b.\n", kind: .trailingData,
            expected: #"t.zone:1:12: unexpected "b." after the end of the entry"#),
        // Fields
        ErrorCase(
            label: "an SRV record without its port", text: zoneHead + "s SRV 1 2\n", kind: .missingField("SRV port"),
            expected: "t.zone:3:10: missing SRV port"),
        ErrorCase(
            label: "an SRV port that is not a number", text: zoneHead + "s SRV 1 2 x t\n", kind: .badField("SRV port"),
            expected: #"t.zone:3:11: bad SRV port "x""#),
        ErrorCase(
            label: "an SRV port above 65535", text: zoneHead + "s SRV 1 2 65536 t\n", kind: .badField("SRV port"),
            expected: #"t.zone:3:11: bad SRV port "65536""#),
        ErrorCase(
            label: "an IPv4 address with three octets", text: zoneHead + "a A 192.0.2\n",
            kind: .badField("A address"), expected: #"t.zone:3:5: bad A address "192.0.2""#),
        ErrorCase(
            label: "an IPv4 address with a leading zero", text: zoneHead + "a A 192.0.2.01\n",
            kind: .badField("A address"), expected: #"t.zone:3:5: bad A address "192.0.2.01""#),
        ErrorCase(
            label: "an IPv6 address with two gaps", text: zoneHead + "a AAAA 1::2::3\n",
            kind: .badField("AAAA address"), expected: #"t.zone:3:8: bad AAAA address "1::2::3""#),
        ErrorCase(
            label: "a record with no RDATA", text: zoneHead + "a A\n", kind: .missingField("A address"),
            expected: "t.zone:3:4: missing A address"),
        ErrorCase(
            label: "a record with no type", text: zoneHead + "a 60 IN\n", kind: .missingField("type"),
            expected: "t.zone:3:8: missing type"),
        ErrorCase(
            label: "an MX preference that is not a number", text: zoneHead + "m MX x mail\n",
            kind: .badField("MX preference"), expected: #"t.zone:3:6: bad MX preference "x""#),
        ErrorCase(
            label: "an SOA serial with a unit", text: "$TTL 60\n@ SOA ns hm 1x 2 3 4 5\n",
            kind: .badField("SOA serial"), expected: #"t.zone:2:13: bad SOA serial "1x""#),
        ErrorCase(
            label: "a TTL with a bad unit", text: zoneHead + "a 1x A 192.0.2.1\n", kind: .badField("TTL"),
            expected: #"t.zone:3:3: bad TTL "1x""#),
        ErrorCase(
            label: "a TTL mixing units and bare seconds", text: zoneHead + "a 1h30 A 192.0.2.1\n",
            kind: .badField("TTL"), expected: #"t.zone:3:3: bad TTL "1h30""#),
        ErrorCase(
            label: "a name with an empty label", text: zoneHead + "a..b A 192.0.2.1\n",
            kind: .badName(.emptyLabel), expected: #"t.zone:3:1: bad domain name "a..b": empty label"#),
        ErrorCase(
            label: "a label of 64 bytes", text: zoneHead + "x CNAME \(String(repeating: "l", count: 64))\n",
            kind: .badName(.labelTooLong),
            expected: #"t.zone:3:9: bad domain name ""# + String(repeating: "l", count: 64)
                + #"": label longer than 63 octets"#),
        ErrorCase(
            label: "a relative name with no origin", text: "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n", origin: nil,
            kind: .badName(.relativeWithoutOrigin),
            expected: #"t.zone:2:1: bad domain name "@": relative name with no origin"#),
        // Owner, TTL, type, class
        ErrorCase(
            label: "a blank owner before any owner", text: "$TTL 60\n  A 192.0.2.1\n", kind: .noPreviousOwner,
            expected: "t.zone:2:1: line starts with white space but no previous record gave an owner"),
        ErrorCase(
            label: "no TTL anywhere", text: "@ SOA ns hm 1 2 3 4 5\n", kind: .noTTL,
            expected: "t.zone:1:1: no TTL specified: give one, or set $TTL first"),
        ErrorCase(
            label: "a TTL above 2^31-1", text: "@ 2147483648 SOA ns hm 1 2 3 4 5\n", kind: .ttlOutOfRange,
            expected: #"t.zone:1:3: TTL out of range "2147483648""#),
        ErrorCase(
            label: "a $TTL in weeks above 2^31-1", text: "$TTL 3551w\n", kind: .ttlOutOfRange,
            expected: #"t.zone:1:6: TTL out of range "3551w""#),
        ErrorCase(
            label: "an unknown type mnemonic", text: zoneHead + "a FOO x\n", kind: .unknownType,
            expected: #"t.zone:3:3: unknown type "FOO""#),
        ErrorCase(
            label: "a meta type as data", text: zoneHead + "a ANY x\n", kind: .typeNotAllowed,
            expected: #"t.zone:3:3: type "ANY" cannot appear as zone data"#),
        ErrorCase(
            label: "class CH", text: zoneHead + "a CH A 192.0.2.1\n", kind: .unsupportedClass,
            expected: #"t.zone:3:3: class "CH" is not served (only IN)"#),
        ErrorCase(
            label: "a generic class other than IN", text: zoneHead + "a 5 CLASS3 A 192.0.2.1\n",
            kind: .unsupportedClass, expected: #"t.zone:3:5: class "CLASS3" is not served (only IN)"#),
        ErrorCase(
            label: "an unknown type without generic syntax", text: zoneHead + "a TYPE65280 0a000001\n",
            kind: .genericSyntaxRequired,
            expected: ##"t.zone:3:3: type "TYPE65280" needs RFC 3597 generic RDATA: \# length hex"##),
        ErrorCase(
            label: "a TXT string of 256 bytes", text: zoneHead + "a TXT \"\(long)\"\n", kind: .stringTooLong,
            expected: #"t.zone:3:7: character-string longer than 255 bytes ""# + String(long.prefix(80)) + #"...""#),
        ErrorCase(
            label: "a second address after an A record", text: zoneHead + "a A 192.0.2.1 192.0.2.2\n",
            kind: .trailingData, expected: #"t.zone:3:15: unexpected "192.0.2.2" after the end of the entry"#),
        // Zone rules
        ErrorCase(
            label: "an empty file", text: "", kind: .noSOA,
            expected: "t.zone:1:1: no records: the first record must be the zone's SOA"),
        ErrorCase(
            label: "a file of directives and comments", text: "$TTL 60\n; nothing\n", kind: .noSOA,
            expected: "t.zone:3:1: no records: the first record must be the zone's SOA"),
        ErrorCase(
            label: "a first record that is not an SOA", text: "$TTL 60\nwww A 192.0.2.1\n",
            kind: .firstRecordNotSOA, expected: #"t.zone:2:5: first record must be the zone's SOA, not "A""#),
        ErrorCase(
            label: "a second SOA", text: zoneHead + "@ SOA ns hm 2 2 3 4 5\n", kind: .secondSOA,
            expected: "t.zone:3:3: second SOA record: one zone per file"),
        ErrorCase(
            label: "an owner outside the apex", text: zoneHead + "www.other. A 192.0.2.1\n", kind: .outOfZone,
            expected: #"t.zone:3:1: out-of-zone data "www.other.""#),
        ErrorCase(
            label: "an owner above the apex", text: "$TTL 60\nsub SOA ns hm 1 2 3 4 5\n@ A 192.0.2.1\n",
            kind: .outOfZone, expected: #"t.zone:3:1: out-of-zone data "example.""#),
        ErrorCase(
            label: "an owner outside after $ORIGIN", text: zoneHead + "$ORIGIN other.\nwww A 192.0.2.1\n",
            kind: .outOfZone, expected: #"t.zone:4:1: out-of-zone data "www.other.""#),
        ErrorCase(
            label: "data after a CNAME", text: zoneHead + "a CNAME b\na A 192.0.2.1\n", kind: .cnameAndOtherData,
            expected: #"t.zone:4:3: CNAME and other data at "a.example.""#),
        ErrorCase(
            label: "a CNAME after data", text: zoneHead + "a TXT x\n  CNAME b\n", kind: .cnameAndOtherData,
            expected: #"t.zone:4:3: CNAME and other data at "a.example.""#),
        ErrorCase(
            label: "two CNAMEs at one owner", text: zoneHead + "a CNAME b\na CNAME c\n", kind: .cnameAndOtherData,
            expected: #"t.zone:4:3: CNAME and other data at "a.example.""#),
        ErrorCase(
            label: "a CNAME at the apex", text: zoneHead + "@ CNAME x\n", kind: .cnameAndOtherData,
            expected: #"t.zone:3:3: CNAME and other data at "example.""#),
    ]

    @Test(arguments: cases) func errorNamesFileLineColumnAndProblem(_ test: ErrorCase) {
        let error = parseError(test.text, origin: test.origin)
        #expect(error?.kind == test.kind)
        #expect(error?.description == test.expected)
    }

    @Test func errorsCarryTheLocationAsFields() {
        let error = parseError(zoneHead + "\n\n  ; c\ns SRV 1 2 x t\n", fileName: "zones/a.zone")
        #expect(error?.location == SourceLocation(file: "zones/a.zone", line: 6, column: 11))
        #expect(error?.token == "x")
        #expect(error?.description == #"zones/a.zone:6:11: bad SRV port "x""#)
    }

    @Test func columnsCountBytesAfterTabsAndLongLines() {
        let error = parseError(zoneHead + "(\n\t\ta A 1 ) \n")
        // An entry may open with `(`; each tab is one column.
        #expect(error?.location == SourceLocation(file: "t.zone", line: 4, column: 7))
    }

    @Test func parsingStopsAtTheFirstError() {
        let error = parseError(zoneHead + "a FOO x\nb BAR y\n")
        #expect(error?.token == "FOO")
    }
}
