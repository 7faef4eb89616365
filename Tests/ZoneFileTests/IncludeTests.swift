import DNSWire
import Testing
import ZoneFile

/// `$INCLUDE file [origin]` (RFC 1035 §5.1) through the injected loader.
@Suite struct IncludeTests {
    @Test func includeSplicesRecordsInPlaceWithTheIncludersOrigin() throws {
        let records = try recordsAfterHead(
            "$INCLUDE part.inc\nafter A 192.0.2.9\n", includes: ["part.inc": "www A 192.0.2.1\n"])
        #expect(records == [a("www.example.", "192.0.2.1"), a("after.example.", "192.0.2.9")])
    }

    @Test func includeOriginArgumentAppliesOnlyInsideTheIncludedFile() throws {
        let records = try recordsAfterHead(
            "$INCLUDE part.inc sub\nx A 192.0.2.9\n", includes: ["part.inc": "www A 192.0.2.1\n"])
        #expect(records == [a("www.sub.example.", "192.0.2.1"), a("x.example.", "192.0.2.9")])
    }

    @Test func originAndOwnerSetInsideAnIncludeDoNotLeakBack() throws {
        let records = try recordsAfterHead(
            "a A 192.0.2.1\n$INCLUDE part.inc\n  A 192.0.2.2\nb A 192.0.2.3\n",
            includes: ["part.inc": "$ORIGIN other.example.\nh A 192.0.2.4\n"])
        #expect(
            records == [
                a("a.example.", "192.0.2.1"), a("h.other.example.", "192.0.2.4"), a("a.example.", "192.0.2.2"),
                a("b.example.", "192.0.2.3"),
            ])
    }

    @Test func dollarTTLSetInsideAnIncludeCarriesOn() throws {
        let records = try recordsAfterHead("$INCLUDE ttl.inc\nz A 192.0.2.1\n", includes: ["ttl.inc": "$TTL 5\n"])
        #expect(records == [a("z.example.", "192.0.2.1", ttl: 5)])
    }

    @Test func includedFileStartsWithNoPreviousOwner() {
        let error = parseError(zoneHead + "a A 192.0.2.1\n$INCLUDE p.inc\n", includes: ["p.inc": "  A 192.0.2.2\n"])
        #expect(error?.kind == .noPreviousOwner)
        #expect(error?.location == SourceLocation(file: "p.inc", line: 1, column: 1))
    }

    @Test func errorsInsideAnIncludeNameTheIncludedFileAndLine() {
        let error = parseError(zoneHead + "$INCLUDE part.inc\n", includes: ["part.inc": "\n\nx SRV 1 2 x t\n"])
        #expect(error?.description == #"part.inc:3:11: bad SRV port "x""#)
    }

    @Test func theSOAMayComeFromAnInclude() throws {
        let zone = try parse(
            "$TTL 60\n$INCLUDE soa.inc\nwww A 192.0.2.1\n", includes: ["soa.inc": "@ SOA ns hm 1 2 3 4 5"])
        #expect(zone.origin == name("example."))
        #expect(zone.records.count == 2)
    }

    @Test func quotedIncludePathsDecodeEscapes() throws {
        let records = try recordsAfterHead(
            "$INCLUDE \"my \\\"file\\\".inc\"\n", includes: [#"my "file".inc"#: "q A 192.0.2.1\n"])
        #expect(records == [a("q.example.", "192.0.2.1")])
    }

    @Test func loaderFailureNamesThePathAndReason() {
        let error = parseError(zoneHead + "$INCLUDE missing.inc\n")
        #expect(error?.kind == .includeFailed("no such file missing.inc"))
        #expect(
            error?.description == #"t.zone:3:10: cannot read $INCLUDE file "missing.inc": no such file missing.inc"#)
    }

    @Test func includesNestEightDeepButNotNine() throws {
        // chain1.inc includes chain2.inc ... up to chainN.inc, which holds one record.
        func chain(_ depth: Int) -> [String: String] {
            var files: [String: String] = [:]
            for level in 1..<depth { files["chain\(level).inc"] = "$INCLUDE chain\(level + 1).inc\n" }
            files["chain\(depth).inc"] = "deep A 192.0.2.1\n"
            return files
        }
        let records = try recordsAfterHead("$INCLUDE chain1.inc\n", includes: chain(8))
        #expect(records == [a("deep.example.", "192.0.2.1")])

        let error = parseError(zoneHead + "$INCLUDE chain1.inc\n", includes: chain(9))
        #expect(error?.kind == .includeTooDeep)
        #expect(error?.description == #"chain8.inc:1:10: $INCLUDE nested more than 8 deep at "chain9.inc""#)
    }

    @Test func aFileIncludingItselfStopsAtTheDepthCap() {
        let error = parseError(zoneHead + "$INCLUDE loop.inc\n", includes: ["loop.inc": "$INCLUDE loop.inc\n"])
        #expect(error?.kind == .includeTooDeep)
        #expect(error?.location == SourceLocation(file: "loop.inc", line: 1, column: 10))
    }

    @Test func oneParseFollowsAtMost256Includes() {
        let body = String(repeating: "$INCLUDE leaf.inc\n", count: 300)
        let error = parseError(zoneHead + body, includes: ["leaf.inc": ""])
        #expect(error?.kind == .tooManyIncludes)
        #expect(error?.description == #"t.zone:259:10: more than 256 $INCLUDEs at "leaf.inc""#)
    }

    @Test func includesThatBranchCannotGrowExponentially() {
        // Each level includes the next twice: 2^8 leaves, stopped by the budget, not by the depth cap.
        var files: [String: String] = ["level8.inc": "x A 192.0.2.1\n"]
        for level in 1..<8 {
            files["level\(level).inc"] = String(repeating: "$INCLUDE level\(level + 1).inc\n", count: 2)
        }
        let error = parseError(zoneHead + "$INCLUDE level1.inc\n$INCLUDE level1.inc\n", includes: files)
        #expect(error?.kind == .tooManyIncludes)
    }

    @Test func includeNeedsAFileName() {
        #expect(parseError(zoneHead + "$INCLUDE\n")?.description == "t.zone:3:9: missing $INCLUDE file name")
        #expect(parseError(zoneHead + "$INCLUDE \"\"\n")?.description == #"t.zone:3:10: bad $INCLUDE file name """#)
    }
}
