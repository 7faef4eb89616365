import Primitives
import DNSWire
import Testing
import ZoneFile

/// RDATA in presentation form for each type Beacon serves, and RFC 3597 generic RDATA.
@Suite struct RDataTests {
    private func rdata(_ line: String) throws(ZoneFileError) -> RData? {
        try recordsAfterHead(line + "\n").first?.rdata
    }

    @Test func aAndAAAAAddresses() throws {
        #expect(try rdata("x A 10.0.0.255") == .a(IPv4Address(10, 0, 0, 255)))
        #expect(try rdata("x AAAA 2001:db8::1") == .aaaa(IPv6Address("2001:db8::1")!))
        #expect(try rdata("x AAAA ::ffff:1.2.3.4") == .aaaa(IPv6Address(high: 0, low: 0xFFFF_0102_0304)))
        #expect(try rdata("x AAAA ::") == .aaaa(IPv6Address(high: 0, low: 0)))
    }

    @Test func nameTypesResolveRelativeNames() throws {
        #expect(try rdata("x NS ns1") == .ns(name("ns1.example.")))
        #expect(try rdata("x CNAME target.other.") == .cname(name("target.other.")))
        #expect(try rdata("x PTR @") == .ptr(name("example.")))
        #expect(try rdata("x MX 10 mail") == .mx(preference: 10, exchange: name("mail.example.")))
    }

    @Test func txtTakesOneOrMoreStringsUpTo255Bytes() throws {
        let long = String(repeating: "z", count: 255)
        #expect(try rdata("x TXT \"\(long)\" b") == .txt([Array(long.utf8), [UInt8(ascii: "b")]]))
        #expect(try rdata("x TXT ( \"one\"\n \"two\" )") == .txt([Array("one".utf8), Array("two".utf8)]))
    }

    @Test func srvFieldsAndRangeEdges() throws {
        #expect(
            try rdata("_x._tcp SRV 0 65535 1 host")
                == .srv(SRV(priority: 0, weight: 65535, port: 1, target: name("host.example."))))
        #expect(try rdata("_x._tcp SRV 1 2 3 .") == .srv(SRV(priority: 1, weight: 2, port: 3, target: .root)))
    }

    @Test func soaTimersAcceptUnits() throws {
        let zone = try parse("$TTL 60\n@ SOA ns hm 4294967295 1h 15m 4w 1d\n")
        #expect(
            zone.soa.rdata
                == .soa(SOA(mname: name("ns.example."), rname: name("hm.example."), serial: 4_294_967_295,
                    refresh: 3600, retry: 900, expire: 2_419_200, minimum: 86400)))
    }

    @Test func hinfoIsTwoCharacterStrings() throws {
        #expect(try rdata("x HINFO \"PC\" Linux") == .unknown([2, 0x50, 0x43, 5] + Array("Linux".utf8)))
    }

    // MARK: - RFC 3597

    @Test func rfc3597GenericRDataRoundTrips() throws {
        let records = try recordsAfterHead(
            "x TYPE65280 \\# 4 0A000001\ny CLASS1 TYPE65281 \\# 0\nz TYPE99 \\# 3 ab cdEF\n")
        #expect(
            records == [
                record("x.example.", RRType(65280), .unknown([10, 0, 0, 1])),
                record("y.example.", RRType(65281), .unknown([])),
                record("z.example.", RRType(99), .unknown([0xAB, 0xCD, 0xEF])),
            ])
        // What DNSWire prints is what this parser reads back.
        let text = records.map { "\($0.name) \($0.type) \($0.rdata.presentation)" }.joined(separator: "\n")
        #expect(try recordsAfterHead(text + "\n") == records)
    }

    @Test func knownTypesInGenericFormDecodeToTheirOwnCase() throws {
        #expect(try rdata("x A \\# 4 7f000001") == rdata("x A 127.0.0.1"))
        #expect(try rdata("x TYPE1 \\# 4 7f000001") == .a(IPv4Address(127, 0, 0, 1)))
        #expect(try rdata("x TYPE1 127.0.0.1") == .a(IPv4Address(127, 0, 0, 1)))
        #expect(try rdata("x TXT \\# 3 026869") == .txt([Array("hi".utf8)]))
        #expect(
            try rdata("x SRV \\# 9 0001 0002 0003 01 61 00")
                == .srv(SRV(priority: 1, weight: 2, port: 3, target: name("a."))))
        #expect(try rdata("x NS \\# 3 016100") == .ns(name("a.")))
    }

    @Test func knownTypesInGenericFormMustDecode() {
        #expect(parseError(zoneHead + "x A \\# 3 7f0000\n")?.description == ##"t.zone:3:5: bad \# RDATA for A "\#""##)
        // A compression pointer has nothing to point into inside lone RDATA.
        #expect(parseError(zoneHead + "x NS \\# 4 0161c000\n")?.kind == .badField(##"\# RDATA for NS"##))
        #expect(parseError(zoneHead + "x TXT \\# 0\n")?.kind == .badField(##"\# RDATA for TXT"##))
    }

    @Test func genericLengthMustMatchTheHex() {
        #expect(
            parseError(zoneHead + "x TYPE9 \\# 3 0a0b\n")?.description
                == ##"t.zone:3:12: bad \# RDATA length (2 octets of hex follow) "3""##)
        #expect(
            parseError(zoneHead + "x TYPE9 \\# 1 0a0b\n")?.description
                == ##"t.zone:3:14: bad \# RDATA hex (1 octets declared) "0a0b""##)
        #expect(parseError(zoneHead + "x TYPE9 \\# 2 0a b\n")?.location.column == 17)
        #expect(parseError(zoneHead + "x TYPE9 \\# 1 zz\n")?.location.column == 14)
        #expect(parseError(zoneHead + "x TYPE9 \\# -1\n")?.kind == .badField(##"\# RDATA length"##))
        #expect(parseError(zoneHead + "x TYPE9 \\# 65536\n")?.kind == .badField(##"\# RDATA length"##))
        #expect(parseError(zoneHead + "x TYPE9 \\#\n")?.description == ##"t.zone:3:11: missing \# RDATA length"##)
    }
}
