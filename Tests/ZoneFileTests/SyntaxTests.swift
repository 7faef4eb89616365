import Primitives
import DNSWire
import Testing
import ZoneFile

/// RFC 1035 §5.1 entry syntax: directives, owners, TTL and class, lexical details.
@Suite struct SyntaxTests {
    // MARK: - The SOA and the apex

    @Test func firstRecordSOAGivesTheApexAndIsKeptFirst() throws {
        let zone = try parse("$TTL 300\n@ IN SOA ns.example. hostmaster.example. 7 3600 600 86400 5\n")
        let soa = SOA(
            mname: name("ns.example."), rname: name("hostmaster.example."), serial: 7, refresh: 3600, retry: 600,
            expire: 86400, minimum: 5)
        #expect(zone.origin == name("example."))
        #expect(zone.soa == record("example.", .soa, ttl: 300, .soa(soa)))
        #expect(zone.records == [zone.soa])
    }

    @Test func apexIsTheSOAOwnerNotTheDefaultOrigin() throws {
        let zone = try parse("$TTL 60\nsub SOA ns hm 1 2 3 4 5\nwww.sub A 192.0.2.1\n")
        #expect(zone.origin == name("sub.example."))
        #expect(zone.records.last == a("www.sub.example.", "192.0.2.1"))
    }

    // MARK: - Directives

    @Test func originDirectiveSwitchesRelativeNames() throws {
        let records = try recordsAfterHead(
            "$ORIGIN sub.example.\nwww A 192.0.2.1\n$ORIGIN deeper\nhost A 192.0.2.2\n@ A 192.0.2.3\n")
        #expect(
            records == [
                a("www.sub.example.", "192.0.2.1"), a("host.deeper.sub.example.", "192.0.2.2"),
                a("deeper.sub.example.", "192.0.2.3"),
            ])
    }

    @Test func originDirectiveIsEnoughWithoutADefaultOrigin() throws {
        let zone = try parse("$ORIGIN example.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n", origin: nil)
        #expect(zone.origin == name("example."))
        #expect(zone.soa.rdata == .soa(SOA(mname: name("ns.example."), rname: name("hm.example."), serial: 1,
            refresh: 2, retry: 3, expire: 4, minimum: 5)))
    }

    @Test func directivesAreCaseInsensitive() throws {
        let zone = try parse("$origin example.\n$ttl 1h\n@ SOA ns hm 1 2 3 4 5\n", origin: nil)
        #expect(zone.soa.ttl == 3600)
    }

    @Test func absoluteNamesIgnoreTheOrigin() throws {
        let records = try recordsAfterHead("www.example. A 192.0.2.1\nx CNAME www.example.\n")
        #expect(records == [a("www.example.", "192.0.2.1"), record("x.example.", .cname, .cname(name("www.example.")))])
    }

    // MARK: - Owners

    @Test func blankOwnerRepeatsThePreviousOwner() throws {
        let records = try recordsAfterHead("www A 192.0.2.1\n  A 192.0.2.2\n\tTXT hi\n")
        #expect(
            records == [
                a("www.example.", "192.0.2.1"), a("www.example.", "192.0.2.2"),
                record("www.example.", .txt, .txt([Array("hi".utf8)])),
            ])
    }

    @Test func atSignIsTheCurrentOrigin() throws {
        let records = try recordsAfterHead("@ A 192.0.2.1\n")
        #expect(records == [a("example.", "192.0.2.1")])
    }

    @Test func wildcardOwnersAreAccepted() throws {
        let records = try recordsAfterHead("*.dyn A 192.0.2.1\n")
        #expect(records == [a("*.dyn.example.", "192.0.2.1")])
        #expect(records[0].name.isWildcard)
    }

    @Test func escapedDotStaysInsideTheLabel() throws {
        let records = try recordsAfterHead("a\\.b A 192.0.2.1\nc\\065d A 192.0.2.2\n")
        #expect(records[0].name.labels.map { Array($0) } == [Array("a.b".utf8), Array("example".utf8)])
        #expect(records[1].name.labels.first.map { Array($0) } == Array("cAd".utf8))
    }

    // MARK: - TTL and class

    @Test func ttlAndClassComeInEitherOrderAndAreOptional() throws {
        let records = try recordsAfterHead(
            "a 10 IN A 192.0.2.1\nb IN 20 A 192.0.2.2\nc 30 A 192.0.2.3\nd IN A 192.0.2.4\ne A 192.0.2.5\n")
        #expect(
            records == [
                a("a.example.", "192.0.2.1", ttl: 10), a("b.example.", "192.0.2.2", ttl: 20),
                a("c.example.", "192.0.2.3", ttl: 30), a("d.example.", "192.0.2.4"), a("e.example.", "192.0.2.5"),
            ])
    }

    @Test func withoutDollarTTLTheLastTTLIsInherited() throws {
        let zone = try parse("@ 100 SOA ns hm 1 2 3 4 5\na A 192.0.2.1\nb 7 A 192.0.2.2\nc A 192.0.2.3\n")
        #expect(zone.records.map(\.ttl) == [100, 100, 7, 7])
    }

    @Test func dollarTTLBeatsThePreviousRecordsTTL() throws {
        let zone = try parse("$TTL 50\n@ 100 SOA ns hm 1 2 3 4 5\na A 192.0.2.1\n$TTL 9\nb A 192.0.2.2\n")
        #expect(zone.records.map(\.ttl) == [100, 50, 9])
    }

    @Test func ttlsAcceptBINDUnits() throws {
        let records = try recordsAfterHead(
            """
            a 1h30m A 192.0.2.1
            b 2d A 192.0.2.1
            c 1W A 192.0.2.1
            d 1w2d3h4m5s A 192.0.2.1
            e 0 A 192.0.2.1
            f 2147483647 A 192.0.2.1

            """)
        #expect(records.map(\.ttl) == [5400, 172_800, 604_800, 788_645, 0, 2_147_483_647])
    }

    @Test func implicitAndGenericClassINAreAccepted() throws {
        let records = try recordsAfterHead("a CLASS1 A 192.0.2.1\nb in A 192.0.2.2\n")
        #expect(records.map(\.rrClass) == [.in, .in])
    }

    @Test func typeMnemonicsAreCaseInsensitive() throws {
        let records = try recordsAfterHead("a a 192.0.2.1\nb Cname a\nc type65280 \\# 0\n")
        #expect(records.map(\.type) == [.a, .cname, RRType(65280)])
    }

    @Test func genericTypeNumbersAreDigitsOnly() {
        for type in ["TYPE+1", "TYPE", "TYPE65536", "TYPE1x"] {
            #expect(parseError(zoneHead + "a \(type) \\# 0\n")?.kind == .unknownType, "\(type)")
        }
    }

    // MARK: - Lexical details

    @Test func parenthesesSpanLines() throws {
        let zone = try parse(
            "$TTL 60\n@ SOA ns hm (\n  2024010101 ; serial\n  1h\n\n  10m ; retry\n  1w\n 5 ) ; after\n"
                + "www TXT (one) two (three\n four)\n")
        #expect(
            zone.soa.rdata
                == .soa(SOA(mname: name("ns.example."), rname: name("hm.example."), serial: 2_024_010_101,
                    refresh: 3600, retry: 600, expire: 604_800, minimum: 5)))
        #expect(zone.records.last?.rdata == .txt(["one", "two", "three", "four"].map { Array($0.utf8) }))
    }

    @Test func commentsEndAtTheLineButNotInsideQuotes() throws {
        let records = try recordsAfterHead("; whole line\na TXT \"x;y\" ; trailing \"q\"\n   ; indented comment\n")
        #expect(records == [record("a.example.", .txt, .txt([Array("x;y".utf8)]))])
    }

    @Test func crlfLineEndingsAreAccepted() throws {
        let zone = try parse("$TTL 60\r\n@ SOA ns hm 1 2 3 4 5\r\nwww A 192.0.2.1\r\n  TXT \"a b\"\r\n")
        #expect(zone.records.dropFirst().map(\.rdata) == [.a(IPv4Address(192, 0, 2, 1)), .txt([Array("a b".utf8)])])
    }

    @Test func lastLineWithoutNewlineIsParsed() throws {
        let records = try recordsAfterHead("www A 192.0.2.1")
        #expect(records == [a("www.example.", "192.0.2.1")])
    }

    @Test func tabsSeparateFields() throws {
        let records = try recordsAfterHead("www\t300\tIN\tA\t192.0.2.1\n")
        #expect(records == [a("www.example.", "192.0.2.1", ttl: 300)])
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let zone = try parse("\u{FEFF}$TTL 60\n@ SOA ns hm 1 2 3 4 5\n")
        #expect(zone.origin == name("example."))
    }

    @Test func quotedStringsDecodeEscapes() throws {
        let records = try recordsAfterHead(#"a TXT "say \"hi\"" "back\\slash" "\065\066" "" bare\032word"# + "\n")
        #expect(
            records[0].rdata
                == .txt([Array(#"say "hi""#.utf8), Array(#"back\slash"#.utf8), Array("AB".utf8), [],
                    Array("bare word".utf8)]))
    }

    @Test func duplicateRecordsAreCollapsedKeepingTheFirst() throws {
        let records = try recordsAfterHead("www A 192.0.2.1\nWWW 99 A 192.0.2.1\nwww A 192.0.2.2\n")
        #expect(records == [a("www.example.", "192.0.2.1"), a("www.example.", "192.0.2.2")])
    }

    @Test func cnameMayHaveRRSIGAndNSECBesideIt() throws {
        let records = try recordsAfterHead("a CNAME b\na TYPE47 \\# 0\na TYPE46 \\# 1 00\n")
        #expect(records.map(\.type) == [.cname, RRType(47), RRType(46)])
    }

    // MARK: - The incremental reader

    @Test func readerYieldsRecordsOneAtATimeWithTheirLocations() throws {
        // No SOA here: the reader applies syntax only; zone rules belong to `parse`.
        var reader = ZoneFileReader(
            Array("$TTL 9\nwww A 192.0.2.1\n\t TXT x\n".utf8), fileName: "r.zone", origin: name("example."))
        let noInclude: (String) throws -> [UInt8] = { throw LoaderError(path: $0) }
        let first = try reader.next(loadInclude: noInclude)
        #expect(first?.record == a("www.example.", "192.0.2.1", ttl: 9))
        #expect(first?.ownerLocation == SourceLocation(file: "r.zone", line: 2, column: 1))
        #expect(first?.typeLocation == SourceLocation(file: "r.zone", line: 2, column: 5))
        let second = try reader.next(loadInclude: noInclude)
        #expect(second?.record == record("www.example.", .txt, ttl: 9, .txt([[UInt8(ascii: "x")]])))
        #expect(second?.typeLocation == SourceLocation(file: "r.zone", line: 3, column: 3))
        #expect(try reader.next(loadInclude: noInclude) == nil)
        #expect(reader.endLocation == SourceLocation(file: "r.zone", line: 4, column: 1))
    }
}
