import Primitives
import Authority
import DNSWire
import TestSupport
import Testing

/// Static zones answered end to end on bytes, as tables of `QueryCase` (STYLE 3.4 #14c).
@Suite struct StaticZoneTests {
    static let server = Server()

    static let beaconCases: [QueryCase] = [
        QueryCase(qname: "www.beacon.test.", qtype: .a, answer: [rr("www.beacon.test. 300 A 192.0.2.1")]),
        QueryCase(qname: "www.beacon.test.", qtype: .aaaa, answer: [rr("www.beacon.test. 300 AAAA 2001:db8::1")]),
        QueryCase(
            qname: "www.beacon.test.", qtype: .mx, authority: [beaconSOA], note: "NODATA: SOA with TTL 5 (RFC 2308)"),
        QueryCase(qname: "nothing.beacon.test.", qtype: .a, rcode: .nxDomain, authority: [beaconSOA]),
        QueryCase(qname: "deep.nothing.beacon.test.", qtype: .a, rcode: .nxDomain, authority: [beaconSOA]),
        QueryCase(
            qname: "beacon.test.", qtype: .soa,
            answer: [rr("beacon.test. 60 SOA ns1.beacon.test. hostmaster.beacon.test. 2024010101 3600 600 86400 5")],
            note: "a positive SOA answer keeps the record's own TTL"),
        QueryCase(
            qname: "beacon.test.", qtype: .ns,
            answer: [rr("beacon.test. 300 NS ns1.beacon.test."), rr("beacon.test. 300 NS ns2.elsewhere.org.")],
            additional: [rr("ns1.beacon.test. 300 A 192.0.2.53")], note: "in-zone NS addresses in additional"),
        QueryCase(
            qname: "beacon.test.", qtype: .mx, answer: [rr("beacon.test. 300 MX 10 mail.beacon.test.")],
            additional: [rr("mail.beacon.test. 300 A 192.0.2.25"), rr("mail.beacon.test. 300 AAAA 2001:db8::25")]),
        QueryCase(
            qname: "_http._tcp.beacon.test.", qtype: .srv,
            answer: [rr("_http._tcp.beacon.test. 300 SRV 0 5 80 www.beacon.test.")],
            additional: [rr("www.beacon.test. 300 A 192.0.2.1"), rr("www.beacon.test. 300 AAAA 2001:db8::1")]),
        QueryCase(qname: "_tcp.beacon.test.", qtype: .srv, authority: [beaconSOA], note: "empty non-terminal"),
        QueryCase(
            qname: "txt.beacon.test.", qtype: .txt,
            answer: [rr("txt.beacon.test. 300 TXT \"hello world\" \"second string\"")]),

        // CNAMEs (RFC 1034 §4.3.2 step 3a; RFC 2308 §2.1 and RFC 6604 for where a chain ends).
        QueryCase(
            qname: "alias.beacon.test.", qtype: .a,
            answer: [
                rr("alias.beacon.test. 300 CNAME alias2.beacon.test."),
                rr("alias2.beacon.test. 300 CNAME www.beacon.test."),
                rr("www.beacon.test. 300 A 192.0.2.1"),
            ], note: "a chain of two inside the zone"),
        QueryCase(
            qname: "alias.beacon.test.", qtype: .cname,
            answer: [rr("alias.beacon.test. 300 CNAME alias2.beacon.test.")],
            note: "asking for the CNAME itself does not follow it"),
        QueryCase(
            qname: "alias.beacon.test.", qtype: .mx,
            answer: [
                rr("alias.beacon.test. 300 CNAME alias2.beacon.test."),
                rr("alias2.beacon.test. 300 CNAME www.beacon.test."),
            ], authority: [beaconSOA], note: "the chain ends in NODATA"),
        QueryCase(
            qname: "out.beacon.test.", qtype: .a, answer: [rr("out.beacon.test. 300 CNAME www.elsewhere.org.")],
            note: "a target outside the zone is left to the client"),
        QueryCase(
            qname: "loop1.beacon.test.", qtype: .a,
            answer: [
                rr("loop1.beacon.test. 300 CNAME loop2.beacon.test."),
                rr("loop2.beacon.test. 300 CNAME loop1.beacon.test."),
            ],
            note: "a loop is cut where it closes"),
        QueryCase(
            qname: "LOOP2.Beacon.TEST.", qtype: .a,
            answer: [
                rr("loop2.beacon.test. 300 CNAME loop1.beacon.test."),
                rr("loop1.beacon.test. 300 CNAME loop2.beacon.test."),
            ],
            note: "loop detection ignores case"),
        QueryCase(
            qname: "dangling.beacon.test.", qtype: .a, rcode: .nxDomain,
            answer: [rr("dangling.beacon.test. 300 CNAME nothing.beacon.test.")], authority: [beaconSOA],
            note: "RFC 6604: the RCODE is the last name's"),

        // Wildcards (RFC 4592).
        QueryCase(qname: "host.wild.beacon.test.", qtype: .a, answer: [rr("host.wild.beacon.test. 300 A 192.0.2.101")]),
        QueryCase(
            qname: "host.wild.beacon.test.", qtype: .txt, authority: [beaconSOA],
            note: "an existing name is never synthesized"),
        QueryCase(
            qname: "any.wild.beacon.test.", qtype: .a, answer: [rr("any.wild.beacon.test. 300 A 192.0.2.100")],
            note: "synthesized with the query's owner"),
        QueryCase(
            qname: "a.b.wild.beacon.test.", qtype: .txt, answer: [rr("a.b.wild.beacon.test. 300 TXT wildcard")],
            note: "a wildcard matches several labels"),
        QueryCase(
            qname: "any.wild.beacon.test.", qtype: .aaaa, authority: [beaconSOA], note: "synthesized NODATA"),
        QueryCase(
            qname: "*.wild.beacon.test.", qtype: .a, answer: [rr("*.wild.beacon.test. 300 A 192.0.2.100")],
            note: "the wildcard owner itself"),
        QueryCase(
            qname: "ent.wild.beacon.test.", qtype: .a, authority: [beaconSOA], note: "an empty non-terminal is NODATA"),
        QueryCase(
            qname: "y.ent.wild.beacon.test.", qtype: .a, rcode: .nxDomain, authority: [beaconSOA],
            note: "RFC 4592 §3.3.1: the closest encloser is the empty non-terminal, which has no *"),
        QueryCase(
            qname: "sub.host.wild.beacon.test.", qtype: .a, rcode: .nxDomain, authority: [beaconSOA],
            note: "the closest encloser host.wild has no *"),
        QueryCase(
            qname: "z.cn.beacon.test.", qtype: .a,
            answer: [rr("z.cn.beacon.test. 300 CNAME www.beacon.test."), rr("www.beacon.test. 300 A 192.0.2.1")],
            note: "a wildcard CNAME is synthesized and followed"),

        // A delegation: a referral, not authoritative, with glue (RFC 1034 §4.3.2 step 3b).
        QueryCase(
            qname: "www.sub.beacon.test.", qtype: .a, aa: false,
            authority: [
                rr("sub.beacon.test. 300 NS ns.sub.beacon.test."), rr("sub.beacon.test. 300 NS ns.elsewhere.org."),
            ],
            additional: [rr("ns.sub.beacon.test. 300 A 192.0.2.54")]),
        QueryCase(
            qname: "sub.beacon.test.", qtype: .ns, aa: false,
            authority: [
                rr("sub.beacon.test. 300 NS ns.sub.beacon.test."), rr("sub.beacon.test. 300 NS ns.elsewhere.org."),
            ],
            additional: [rr("ns.sub.beacon.test. 300 A 192.0.2.54")], note: "the cut itself refers too"),
        QueryCase(
            qname: "ns.sub.beacon.test.", qtype: .a, aa: false,
            authority: [
                rr("sub.beacon.test. 300 NS ns.sub.beacon.test."), rr("sub.beacon.test. 300 NS ns.elsewhere.org."),
            ],
            additional: [rr("ns.sub.beacon.test. 300 A 192.0.2.54")], note: "glue is not authoritative data"),

        // Outside every served zone, and other classes.
        QueryCase(qname: "www.elsewhere.org.", qtype: .a, rcode: .refused, aa: false),
        QueryCase(qname: "test.", qtype: .soa, rcode: .refused, aa: false, note: "the parent of a served zone"),
        QueryCase(qname: ".", qtype: .ns, rcode: .refused, aa: false),
        QueryCase(qname: "www.beacon.test.", qtype: .a, qclass: .ch, rcode: .refused, aa: false),
        QueryCase(qname: "version.bind.", qtype: .txt, qclass: .ch, rcode: .refused, aa: false),
    ]

    @Test(arguments: beaconCases)
    func staticZoneAnswersMatchTheTable(_ row: QueryCase) {
        #expect(Self.server.run(row) == [])
    }

    /// RFC 4592 §2.2.1's own example queries against its own example zone.
    static let rfc4592Cases: [QueryCase] = [
        QueryCase(
            qname: "host3.example.", qtype: .mx, answer: [rr("host3.example. 3600 MX 10 host1.example.")],
            additional: [rr("host1.example. 3600 A 192.0.2.1")], note: "synthesized from *.example"),
        QueryCase(qname: "host3.example.", qtype: .a, authority: [exampleSOA], note: "the wildcard has no A: no data"),
        QueryCase(
            qname: "foo.bar.example.", qtype: .txt, answer: [rr("foo.bar.example. 3600 TXT \"this is a wildcard\"")]),
        QueryCase(qname: "host1.example.", qtype: .mx, authority: [exampleSOA], note: "host1 exists: not synthesized"),
        QueryCase(qname: "sub.*.example.", qtype: .mx, authority: [exampleSOA], note: "exists: not synthesized"),
        QueryCase(
            qname: "_telnet._tcp.host1.example.", qtype: .srv, rcode: .nxDomain, authority: [exampleSOA],
            note: "closest encloser _tcp.host1.example is an empty non-terminal without *"),
        QueryCase(
            qname: "host.subdel.example.", qtype: .a, aa: false,
            authority: [rr("subdel.example. 3600 NS ns.example.com."), rr("subdel.example. 3600 NS ns.example.net.")],
            note: "a referral, never synthesized"),
        QueryCase(
            qname: "ghost.*.example.", qtype: .mx, rcode: .nxDomain, authority: [exampleSOA],
            note: "closest encloser *.example has no *.*.example"),
        QueryCase(
            qname: "host2.example.", qtype: .a, authority: [exampleSOA],
            note: "§2.2.2: host2.example is an empty non-terminal, so it exists and is not synthesized"),
        QueryCase(
            qname: "_ssh._tcp.host1.example.", qtype: .srv,
            answer: [rr("_ssh._tcp.host1.example. 3600 SRV 0 0 22 host1.example.")],
            additional: [rr("host1.example. 3600 A 192.0.2.1")]),
    ]

    @Test(arguments: rfc4592Cases)
    func rfc4592ExampleQueriesGetTheRFCsAnswers(_ row: QueryCase) {
        #expect(Self.server.run(row) == [])
    }

    @Test func rfc2308NegativeTTLIsMinOfSOATTLAndMinimum() throws {
        // beacon.test.: SOA TTL 60, MINIMUM 5 → 5. example.: SOA TTL 3600, MINIMUM 7200 → 3600.
        let beacon = try #require(Self.server.ask("nothing.beacon.test.", .a))
        #expect(beacon.authorities.map(\.ttl) == [5])
        let example = try #require(Self.server.ask("host1.example.", .aaaa))
        #expect(example.authorities.map(\.ttl) == [3600])
        let local = try #require(Self.server.ask("nothing.local.", .a))
        #expect(local.authorities.map(\.ttl) == [5])
    }

    @Test func aGeneratedZoneForTheDomainHasSOAMinimum5AndAnNSWithItsAddress() throws {
        let zone = Zone.generated(apex: dnsName("Internal."), nameServerAddress: IPAddress("192.0.2.9"))
        let server = Server(zones: ZoneSet([zone]), apex: "internal.")
        let missing = try #require(server.ask("nothing.internal.", .a))
        #expect(missing.rcode == .nxDomain)
        #expect(missing.header.authoritative)
        #expect(
            missing.authorities == [
                rr("internal. 5 SOA ns.internal. hostmaster.internal. 1 3600 600 86400 5")
            ])
        let ns = try #require(server.ask("internal.", .ns))
        #expect(ns.answers == [rr("internal. 60 NS ns.internal.")])
        #expect(ns.additionals == [rr("ns.internal. 60 A 192.0.2.9")])
    }
}
