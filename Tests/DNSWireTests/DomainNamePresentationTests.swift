import Primitives
import DNSWire
import TestSupport
import Testing

@Suite("Domain names in presentation format: parse, print, escapes")
struct DomainNamePresentationTests {
    /// (text as written, wire bytes, text as printed).
    static let cases: [(text: String, wire: [UInt8], printed: String)] = [
        ("www.example.com.", hex("03 777777 07 6578616d706c65 03 636f6d 00"), "www.example.com."),
        ("www.example.com", hex("03 777777 07 6578616d706c65 03 636f6d 00"), "www.example.com."),
        ("WwW.Example.COM.", hex("03 577757 07 4578616d706c65 03 434f4d 00"), "WwW.Example.COM."),
        (".", [0], "."),
        ("a\\.b.example.", hex("03 612e62 07 6578616d706c65 00"), "a\\.b.example."),
        ("\\000.example.", hex("01 00 07 6578616d706c65 00"), "\\000.example."),
        ("sp\\032ace.", hex("06 737020616365 00"), "sp\\032ace."),
        ("back\\\\slash.", hex("0a 6261636b5c736c617368 00"), "back\\\\slash."),
        ("\\\"\\(\\)\\;\\@\\$.", hex("06 2228293b4024 00"), "\\\"\\(\\)\\;\\@\\$."),
        ("\\255\\128.", hex("02 ff80 00"), "\\255\\128."),
        ("\\a\\b.", hex("02 6162 00"), "ab."),
        ("_sip._tcp.", hex("04 5f736970 04 5f746370 00"), "_sip._tcp."),
        ("*.example.", hex("01 2a 07 6578616d706c65 00"), "*.example."),
    ]

    @Test(arguments: 0..<cases.count)
    func textParsesToWireAndPrintsCanonically(index: Int) throws {
        let (text, wire, printed) = Self.cases[index]
        let parsed = try DomainName(text)
        #expect(parsed.wire == wire, "\(text)")
        #expect(parsed.description == printed)
        #expect(try DomainName(printed).isIdentical(to: parsed), "printing then parsing keeps every octet")
    }

    @Test func randomBinaryNamesSurvivePrintAndParse() throws {
        var random = SeededGenerator(seed: 0xD0_AA1E)
        for _ in 0..<500 {
            var labels: [[UInt8]] = []
            var size = 1
            while random.chance(4, in: 5) {
                let label = random.bytes(random.next(in: 1...63))
                guard size + 1 + label.count <= 255 else { break }
                labels.append(label)
                size += 1 + label.count
            }
            let original = try DomainName(labels: labels)
            let text = original.description
            #expect(try DomainName(text).isIdentical(to: original), "\(text)")
        }
    }

    @Test func relativeNameTakesTheOrigin() throws {
        let origin = name("example.com.")
        let relative = try DomainName.parse(Array("www".utf8), origin: origin)
        #expect(relative.name == name("www.example.com.") && !relative.absolute)
        let absolute = try DomainName.parse(Array("www.".utf8), origin: origin)
        #expect(absolute.name == name("www.") && absolute.absolute)
        let apex = try DomainName.parse(Array("@".utf8), origin: origin)
        #expect(apex.name == origin)
        #expect(throws: DomainNameError.relativeWithoutOrigin) { try DomainName.parse(Array("www".utf8), origin: nil) }
        #expect(throws: DomainNameError.relativeWithoutOrigin) { try DomainName.parse(Array("@".utf8), origin: nil) }
    }

    @Test func nameOfExactly255OctetsParsesAnd256DoesNot() throws {
        let label63 = String(repeating: "a", count: 63)
        let longest = try DomainName("\(label63).\(label63).\(label63).\(String(repeating: "b", count: 61)).")
        #expect(longest.wire.count == 255)
        #expect(throws: DomainNameError.nameTooLong) {
            try DomainName("\(label63).\(label63).\(label63).\(String(repeating: "b", count: 62)).")
        }
        #expect(throws: DomainNameError.nameTooLong) {
            try DomainName.parse(Array("\(label63).\(label63).\(label63)".utf8), origin: name("\(label63)."))
        }
    }

    @Test func malformedTextIsRejectedWithItsReason() {
        #expect(throws: DomainNameError.emptyLabel) { try DomainName("") }
        #expect(throws: DomainNameError.emptyLabel) { try DomainName("a..b.") }
        #expect(throws: DomainNameError.emptyLabel) { try DomainName(".a.") }
        #expect(throws: DomainNameError.labelTooLong) { try DomainName(String(repeating: "a", count: 64) + ".") }
        #expect(throws: DomainNameError.badEscape) { try DomainName("a\\256.") }
        #expect(throws: DomainNameError.badEscape) { try DomainName("a\\25") }
        #expect(throws: DomainNameError.badEscape) { try DomainName("a\\2b5.") }
        #expect(throws: DomainNameError.badEscape) { try DomainName("a\\") }
    }

    @Test func escapedOctetsCountOnceTowardTheLabelLimit() throws {
        let sixtyThree = try DomainName(String(repeating: "\\065", count: 63) + ".")
        #expect(sixtyThree.wire.count == 65)
        #expect(throws: DomainNameError.labelTooLong) { try DomainName(String(repeating: "\\065", count: 64) + ".") }
    }

    @Test func rfc4343NamesCompareAndHashIgnoringASCIICaseOnly() {
        #expect(name("WWW.Example.com.") == name("www.example.COM."))
        #expect(Set([name("WWW.Example.com."), name("www.example.COM.")]).count == 1)
        #expect(!name("WWW.example.").isIdentical(to: name("www.example.")))
        // 0xC1 and 0xE1 differ by 0x20 but are not ASCII letters.
        #expect(name("\\193.") != name("\\225."))
    }
}
