import Primitives
import DNSWire
import Foundation
import Testing
import ZoneFile

/// Whole files: the edge-case fixtures, and every zone the server ships in `zones/`.
@Suite struct FixtureTests {
    static let fixtures = testsDirectory.appendingPathComponent(".Fixtures")

    @Test func edgeCaseFixtureParsesToTheExpectedRecords() throws {
        let zone = try parseFile(Self.fixtures.appendingPathComponent("edge.zone"))
        #expect(zone.origin == name("edge."))
        #expect(
            zone.soa.rdata
                == .soa(SOA(mname: name("ns.edge."), rname: name("hostmaster.edge."), serial: 2_024_060_101,
                    refresh: 10800, retry: 900, expire: 604_800, minimum: 5)))
        let dotted = try DomainName(labels: [Array("web.dotted".utf8), Array("svc".utf8), Array("edge".utf8)])
        #expect(
            zone.records == [
                zone.soa,
                record("edge.", .ns, ttl: 3600, .ns(name("ns.edge."))),
                a("ns.edge.", "192.0.2.53", ttl: 3600),
                record("ns.edge.", .aaaa, ttl: 3600, .aaaa(IPv6Address("2001:db8::53")!)),
                record(
                    "_http._tcp.svc.edge.", .srv, ttl: 30,
                    .srv(SRV(priority: 10, weight: 1, port: 8080, target: name("web.svc.edge.")))),
                a("web.svc.edge.", "192.0.2.80", ttl: 3600),
                ResourceRecord(
                    name: dotted, type: .txt, ttl: 3600, rdata: .txt([Array("a;b".utf8), Array(#"c"d"#.utf8)])),
                record("*.wild.edge.", .cname, .cname(name("web.svc.edge."))),
                record("gen.edge.", RRType(65280), ttl: 3600, .unknown([10, 0, 0, 1])),
                a("last.edge.", "192.0.2.1", ttl: 3600),
            ])
    }

    @Test func includeFixtureRestoresOriginAndOwnerAfterEachInclude() throws {
        let zone = try parseFile(Self.fixtures.appendingPathComponent("include.zone"))
        // The same records `named-checkzone -D include. include.zone` prints.
        #expect(
            zone.records.map { "\($0.name) \($0.type) \($0.rdata.presentation)" } == [
                "include. SOA ns.include. hostmaster.include. 1 3600 600 86400 5",
                "include. NS ns.include.",
                "ns.include. A 192.0.2.1",
                "printer.elsewhere.include. A 192.0.2.2",
                "ns.lab.include. A 192.0.2.1",
                "include. TXT \"owner is the apex again\"",
            ])
        #expect(zone.records.allSatisfy { $0.ttl == 300 })
    }

    @Test func crlfCopyOfTheEdgeFixtureParsesTheSame() throws {
        let url = Self.fixtures.appendingPathComponent("edge.zone")
        var crlf: [UInt8] = []
        for byte in try readBytes(url) {
            if byte == UInt8(ascii: "\n") { crlf.append(UInt8(ascii: "\r")) }
            crlf.append(byte)
        }
        let parsed = try ZoneFileParser.parse(
            crlf, fileName: "edge.zone", defaultOrigin: name("edge."), loadInclude: { throw LoaderError(path: $0) })
        #expect(parsed == (try parseFile(url)))
    }

    // MARK: - zones/

    /// Every `*.zone` file the server loads at start.
    static var shippedZones: [URL] {
        let folder = repositoryRoot.appendingPathComponent("zones")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".zone") }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test func everyZoneFileInTheZonesFolderParses() throws {
        let zones = Self.shippedZones
        #expect(zones.contains { $0.lastPathComponent == "local.zone" })
        for url in zones {
            let zone = try parseFile(url)
            #expect(zone.records.first == zone.soa, "\(url.lastPathComponent)")
        }
    }

    @Test func localZoneIsMinimalWithSOAMinimumFive() throws {
        let zone = try parseFile(repositoryRoot.appendingPathComponent("zones/local.zone"))
        #expect(zone.origin == name("local."))
        guard case .soa(let soa) = zone.soa.rdata else {
            Issue.record("no SOA RDATA")
            return
        }
        #expect(soa.minimum == 5)
        #expect(
            zone.records.dropFirst() == [
                record("local.", .ns, .ns(name("ns.local."))), a("ns.local.", "127.0.0.1"),
            ])
    }
}
