import HTTPWire
import Testing

/// Accept and reject tables in the manner of JSONTestSuite (y_ must parse, n_ must not), written for
/// this parser's documented choices.
@Suite struct JSONParserTests {
    static let accepted: [(String, JSONValue)] = [
        ("null", nil),
        ("true", true),
        ("false", false),
        ("0", .number(JSONNumber(literal: "0")!)),
        ("-0", .number(JSONNumber(literal: "-0")!)),
        ("8080", 8080),
        ("-12.5e+3", .number(JSONNumber(literal: "-12.5e+3")!)),
        ("1E-2", .number(JSONNumber(literal: "1E-2")!)),
        ("\"\"", ""),
        ("\"plain\"", "plain"),
        (" \t\r\n[ ] \n", []),
        ("{}", [:]),
        ("[1,\"a\",null,true,{\"k\":[]}]", [1, "a", nil, true, ["k": []]]),
        (
            "{\"service\":\"orders\",\"port\":8080,\"meta\":{\"zone\":\"a\"}}",
            ["service": "orders", "port": 8080, "meta": ["zone": "a"]]
        ),
        ("{ \"a\" : 1 , \"b\" : [ 2 , 3 ] }", ["a": 1, "b": [2, 3]]),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uD834\uDD1E""#, "𝄞"),
        (#""\u0000""#, "\u{0}"),
        ("\"é😀\"", "é😀"),
        ("\"\u{7F}\"", "\u{7F}"),
        ("{\"a\":1,\"A\":2}", ["a": 1, "A": 2]),
    ]

    @Test(arguments: accepted)
    func acceptedDocumentsParseToTheirValue(text: String, value: JSONValue) throws {
        #expect(try JSONParser.parse(text) == value)
    }

    static let rejected: [(String, String, Int)] = [
        ("", "unexpected end of input", 0),
        ("   ", "unexpected end of input", 3),
        ("nul", "invalid literal", 0),
        ("True", "expected a value", 0),
        ("NaN", "expected a value", 0),
        ("Infinity", "expected a value", 0),
        ("-Infinity", "expected a digit", 1),
        ("+1", "expected a value", 0),
        ("01", "leading zero in number", 1),
        ("-012", "leading zero in number", 2),
        ("1.", "unexpected end of input", 2),
        ("1.e5", "expected a digit", 2),
        (".5", "expected a value", 0),
        ("1e", "unexpected end of input", 2),
        ("1e+", "unexpected end of input", 3),
        ("0x10", "unexpected data after the value", 1),
        ("[1,]", "expected a value", 3),
        ("[1 2]", "expected ',' or ']'", 3),
        ("[", "unexpected end of input", 1),
        ("[1", "unexpected end of input", 2),
        ("{\"a\":1,}", "expected a string key", 7),
        ("{\"a\" 1}", "expected ':'", 5),
        ("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7),
        ("{a:1}", "expected a string key", 1),
        ("{'a':1}", "expected a string key", 1),
        ("{\"a\"", "unexpected end of input", 4),
        ("{\"port\":1,\"port\":2}", "duplicate key \"port\"", 10),
        ("[] []", "unexpected data after the value", 3),
        ("{} x", "unexpected data after the value", 3),
        ("[1] // comment", "unexpected data after the value", 4),
        ("/* c */ 1", "expected a value", 0),
        ("\"abc", "unexpected end of input", 4),
        ("\"a\tb\"", "control character in string", 2),
        ("\"a\nb\"", "control character in string", 2),
        (#""\x41""#, "invalid escape", 1),
        (#""\'""#, "invalid escape", 1),
        (#""\u12""#, #"invalid \u escape"#, 5),
        (#""\u12G4""#, #"invalid \u escape"#, 5),
        (#""\ud83d""#, "lone surrogate", 1),
        (#""\ud83dx""#, "lone surrogate", 1),
        (#""\ud83d\u0041""#, "lone surrogate", 1),
        (#""\ude00""#, "lone surrogate", 1),
        (#""a\ude00\ud83d""#, "lone surrogate", 2),
        ("\u{FEFF}{}", "expected a value", 0),
        ("[\"a\",]", "expected a value", 5),
        ("[,1]", "expected a value", 1),
        ("\"\\", "unexpected end of input", 2),
    ]

    @Test(arguments: rejected)
    func rejectedDocumentsNameTheProblemAndItsOffset(text: String, message: String, offset: Int) {
        #expect(throws: JSONError(offset: offset, message: message)) { try JSONParser.parse(text) }
    }

    @Test func errorsRenderWithTheirByteOffset() {
        let error = JSONError(offset: 17, message: "expected ':'")
        #expect(error.description == "expected ':' at byte 17")
    }

    static let invalidUTF8: [[UInt8]] = [
        [0x22, 0xFF, 0x22],
        [0x22, 0xC3, 0x22],  // truncated two-byte sequence
        [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // an encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0x5C, 0x6E, 0xFF, 0x22],  // after an escape
    ]

    @Test(arguments: invalidUTF8)
    func invalidUTF8InStringsIsRejected(_ input: [UInt8]) {
        #expect(throws: JSONError(offset: 0, message: "invalid UTF-8 in string")) { try JSONParser.parse(input) }
    }

    @Test func nonASCIIOutsideStringsIsRejected() {
        #expect(throws: JSONError(offset: 1, message: "expected a value")) {
            try JSONParser.parse([0x5B, 0xC3, 0xA9, 0x5D])
        }
    }

    // MARK: - Depth

    static func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    @Test func nestingUpToSixtyFourLevelsIsAccepted() throws {
        var value = try JSONParser.parse(Self.nested(64))
        var depth = 0
        while case .array(let elements) = value {
            depth += 1
            value = elements.first ?? .null
        }
        #expect(depth == 64)
    }

    @Test func theSixtyFifthLevelIsRejectedAtItsBracket() {
        #expect(throws: JSONError(offset: 64, message: "nesting deeper than 64")) {
            try JSONParser.parse(Self.nested(65))
        }
        // Objects count too: 32 of `{"a":[` are 64 levels, so the `[` at byte 192 is the 65th.
        #expect(throws: JSONError(offset: 192, message: "nesting deeper than 64")) {
            try JSONParser.parse(String(repeating: "{\"a\":[", count: 32) + "[1]" + String(repeating: "]}", count: 32))
        }
    }

    @Test func aDeepHostileDocumentFailsWithoutExhaustingTheStack() {
        #expect(throws: JSONError.self) { try JSONParser.parse(String(repeating: "[", count: 1_000_000)) }
    }

    @Test func theDepthLimitIsConfigurable() throws {
        #expect(try JSONParser.parse("[[1]]", maxDepth: 2) == [[1]])
        #expect(throws: JSONError(offset: 2, message: "nesting deeper than 2")) {
            try JSONParser.parse("[[[1]]]", maxDepth: 2)
        }
        // Sibling containers do not add up.
        #expect(try JSONParser.parse("[[1],[2],{\"a\":3}]", maxDepth: 2) == [[1], [2], ["a": 3]])
    }

    @Test func duplicateKeysAreFoundInLargeObjectsToo() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(throws: JSONError(offset: 1 + members.utf8.count + 1, message: "duplicate key \"k7\"")) {
            try JSONParser.parse("{\(members),\"k7\":0}")
        }
        #expect(throws: Never.self) { try JSONParser.parse("{\(members)}") }
    }

    @Test func duplicateKeysAreComparedAfterUnescaping() {
        #expect(throws: JSONError(offset: 8, message: "duplicate key \"ab\"")) {
            try JSONParser.parse(#"{"ab":1,"a\u0062":2}"#)
        }
    }
}
