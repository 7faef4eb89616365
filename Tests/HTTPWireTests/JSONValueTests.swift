import HTTPWire
import Testing

@Suite struct JSONValueTests {
    // MARK: - Numbers

    static let exactIntegers: [(String, Int?)] = [
        ("8080", 8080), ("0", 0), ("-0", 0), ("-42", -42), ("3e1", 30), ("3E+1", 30), ("80.0", 80), ("8.080e3", 8080),
        ("1200e-2", 12), ("0.0e0", 0), ("0e400", 0), ("0.000", 0),
        ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min),
        ("9223372036854775808", nil), ("-9223372036854775809", nil), ("92233720368547758070e-1", Int.max),
        ("8080.5", nil), ("30.5", nil), ("1e400", nil), ("1e-400", nil), ("1e-1", nil), ("0.1", nil),
        ("123456789012345678901234567890", nil), ("1.5e1", 15), ("1.55e1", nil),
        ("1e18", 1_000_000_000_000_000_000), ("1e19", nil), ("100000000000000000000e-2", 1_000_000_000_000_000_000),
        ("1e99999999999999999999", nil), ("5e-99999999999999999999", nil),
    ]

    @Test(arguments: exactIntegers)
    func exactIntegerValueIsDecidedFromTheLiteral(literal: String, expected: Int?) throws {
        let number = try #require(JSONNumber(literal: literal))
        #expect(number.asExactInt == expected)
    }

    static let integerLiterals: [(String, Int?)] = [
        ("8080", 8080), ("0", 0), ("-0", 0), ("-42", -42), ("9223372036854775807", Int.max),
        ("-9223372036854775808", Int.min), ("9223372036854775808", nil), ("100.0", nil), ("1e2", nil),
        ("1E2", nil), ("100e0", nil), ("0.0", nil), ("1.5", nil), ("-1e-0", nil),
    ]

    @Test(arguments: integerLiterals)
    func onlyNumbersWrittenAsIntegersAreIntegerLiterals(literal: String, expected: Int?) throws {
        let number = try #require(JSONNumber(literal: literal))
        #expect(number.asIntegerLiteral == expected)
    }

    @Test func doubleValuesAreFiniteOrNil() throws {
        #expect(JSONNumber(literal: "8080.5")?.asDouble == 8080.5)
        #expect(JSONNumber(literal: "-1.25e2")?.asDouble == -125)
        #expect(JSONNumber(literal: "1e400")?.asDouble == nil)
        #expect(JSONNumber(literal: "1e-400")?.asDouble == 0)
    }

    @Test func numberLiteralsAreValidated() {
        for good in ["0", "-1", "1.5", "1e5", "1E-5", "-0.0e+0"] {
            #expect(JSONNumber(literal: good) != nil, "\(good)")
        }
        for bad in ["", "-", "01", "1.", ".1", "1e", "+1", "0x1", "1 ", "NaN", "∞"] {
            #expect(JSONNumber(literal: bad) == nil, "\(bad)")
        }
    }

    @Test func doublesAreWrittenShortestWithoutTrailingPointZero() {
        let cases: [(Double, String)] = [
            (30, "30"), (0.5, "0.5"), (-0.0, "-0"), (0.1, "0.1"), (1e100, "1e+100"), (1.5e-7, "1.5e-07"),
            (123456.789, "123456.789"), (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        ]
        for (value, text) in cases {
            let number = JSONNumber(value)
            #expect(number?.literal == text)
            #expect(number?.asDouble == value)
            #expect(JSONNumber(literal: text) != nil, "\(text) is valid JSON")
        }
        #expect(JSONNumber(Double.nan) == nil)
        #expect(JSONNumber(-Double.infinity) == nil)
    }

    // MARK: - Writing

    @Test func objectsAreWrittenInTheOrderBuilt() {
        let value: JSONValue = ["zeta": 1, "alpha": ["b": true, "a": nil], "mid": [1.5, "x"]]
        #expect(value.jsonText == #"{"zeta":1,"alpha":{"b":true,"a":null},"mid":[1.5,"x"]}"#)
    }

    @Test func stringsAreEscapedAsRFC8259Requires() {
        let value: JSONValue = .string("q\"b\\s/\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}é😀")
        #expect(value.jsonText == #""q\"b\\s/\b\f\n\r\t\u0000\u001f"# + "\u{7F}é😀\"")
    }

    @Test func theWriterPlacesCommasAndColonsItself() {
        var json = JSONWriter()
        json.object { o in
            o.field("id", "a")
            o.field("ttl", 30)
            o.field("expires_in", 12.5)
            o.field("ok", true)
            o.field("instances") { w in
                w.array { a in
                    a.object { $0.field("port", 8080) }
                    a.object { _ in }
                    a.int(Int.min)
                    a.double(.nan)
                    a.null()
                }
            }
            o.field("empty", JSONValue.array([]))
        }
        #expect(
            String(decoding: json.bytes, as: UTF8.self)
                == #"{"id":"a","ttl":30,"expires_in":12.5,"ok":true,"# + #""instances":[{"port":8080},{},"#
                + #"-9223372036854775808,null,null],"empty":[]}"#
        )
    }

    @Test func theWriterHandlesNestingBeyondSixtyFourLevels() throws {
        var value: JSONValue = [1, 2]
        for i in 0..<100 { value = ["k": [value], "n": .number(JSONNumber(i))] }
        let text = value.serialized()
        #expect(try JSONParser.parse(text, maxDepth: 300) == value)
    }

    static let roundTrips: [String] = [
        #"{"service":"orders","function":"create","address":"10.0.0.1","port":8080,"meta":{"zone":"eu-1"}}"#,
        #"[0,-0,1.5e+300,-2E-5,123456789012345678901234567890]"#,
        #"{"s":"\u0000\u001f \"quoted\" \\ / é 😀"}"#,
        #"[[],{},[{}],{"a":[]}]"#,
        #"{"":""}"#,
    ]

    @Test(arguments: roundTrips)
    func parsingThenWritingIsAFixedPoint(text: String) throws {
        let value = try JSONParser.parse(text)
        let written = value.serialized()
        #expect(try JSONParser.parse(written) == value)
        #expect(try JSONParser.parse(written).serialized() == written)
    }

    @Test func numbersKeepTheirLiteralThroughARoundTrip() throws {
        let written = try JSONParser.parse("[1.50, 1E2, -0]").jsonText
        #expect(written == "[1.50,1E2,-0]")
    }

    // MARK: - Access

    @Test func accessorsReadTypedValues() throws {
        let value = try JSONParser.parse(#"{"port":8080,"id":"x","on":false,"list":[1,2],"none":null,"obj":{}}"#)
        #expect(value["port"]?.numberValue?.asExactInt == 8080)
        #expect(value["id"]?.stringValue == "x")
        #expect(value["on"]?.boolValue == false)
        #expect(value["list"]?[1] == 2)
        #expect(value["list"]?[2] == nil)
        #expect(value["none"]?.isNull == true)
        #expect(value["obj"]?.objectValue?.isEmpty == true)
        #expect(value["missing"] == nil)
        #expect(value["port"]?.stringValue == nil)
        #expect(value[0] == nil)
        #expect(value["list"]?.arrayValue?.count == 2)
    }

    @Test func objectEqualityRespectsOrder() {
        let ab: JSONValue = ["a": 1, "b": 2]
        let ba: JSONValue = ["b": 2, "a": 1]
        #expect(ab != ba)
        #expect(ab == ["a": 1, "b": 2])
        #expect(JSONValue.number(JSONNumber(literal: "1.0")!) != 1)
    }
}
