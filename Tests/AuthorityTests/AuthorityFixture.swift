import Primitives
import Authority
import DNSWire
import Leases
import TestSupport
import Testing
import ZoneFile

/// The zones, registrations and responder that the Authority suites query, end to end on bytes.

struct NoIncludes: Error {}

/// Parses zone text as `t.zone`; a parse error is a bug in the fixture.
func parseZone(_ text: String, origin: String) -> Zone {
    do {
        let data = try ZoneFileParser.parse(
            Array(text.utf8), fileName: "t.zone", defaultOrigin: dnsName(origin),
            loadInclude: { _ in throw NoIncludes() })
        return Zone(data: data)
    } catch {
        preconditionFailure("fixture zone \(origin): \(error)")
    }
}

enum Zones {
    /// A static zone with every kind of answer: SOA TTL 60 and MINIMUM 5 (negative TTL 5), NS, MX and
    /// SRV with in-zone targets, a CNAME chain, a CNAME out of the zone, a loop, a dangling CNAME,
    /// wildcards (one blocked by an empty non-terminal, one CNAME) and a delegation with glue.
    static let beaconTest = """
        $ORIGIN beacon.test.
        $TTL 300
        @           60 IN SOA ns1.beacon.test. hostmaster.beacon.test. 2024010101 3600 600 86400 5
        @           NS    ns1
        @           NS    ns2.elsewhere.org.
        @           MX    10 mail
        ns1         A     192.0.2.53
        www         A     192.0.2.1
        www         AAAA  2001:db8::1
        mail        A     192.0.2.25
        mail        AAAA  2001:db8::25
        alias       CNAME alias2
        alias2      CNAME www
        out         CNAME www.elsewhere.org.
        loop1       CNAME loop2
        loop2       CNAME loop1
        dangling    CNAME nothing
        txt         TXT   "hello world" "second string"
        _http._tcp  SRV   0 5 80 www
        *.wild      A     192.0.2.100
        *.wild      TXT   "wildcard"
        host.wild   A     192.0.2.101
        x.ent.wild  A     192.0.2.102
        *.cn        CNAME www
        sub         NS    ns.sub
        sub         NS    ns.elsewhere.org.
        ns.sub      A     192.0.2.54

        """

    /// The example zone of RFC 4592 §2.2.1, verbatim but for the SOA and SRV RDATA it elides.
    /// SOA TTL 3600 below MINIMUM 7200, so its negative TTL is the SOA TTL.
    static let rfc4592 = """
        $ORIGIN example.
        example.                 3600 IN  SOA   ns.example.com. hostmaster.example.com. 1 3600 600 86400 7200
        example.                 3600     NS    ns.example.com.
        example.                 3600     NS    ns.example.net.
        *.example.               3600     TXT   "this is a wildcard"
        *.example.               3600     MX    10 host1.example.
        sub.*.example.           3600     TXT   "this is not a wildcard"
        host1.example.           3600     A     192.0.2.1
        _ssh._tcp.host1.example. 3600     SRV   0 0 22 host1.example.
        _ssh._tcp.host2.example. 3600     SRV   0 0 22 host2.example.
        subdel.example.          3600     NS    ns.example.com.
        subdel.example.          3600     NS    ns.example.net.

        """

    /// The registration domain, with static records at two registration names to merge with, and a
    /// CNAME to a registration name (the fleet `TransportTests` registers).
    static let local = """
        $ORIGIN local.
        @           60 IN SOA ns.local. hostmaster.local. 1 3600 600 86400 5
        @           60 NS  ns
        ns          60 A   127.0.0.1
        api.orders  20 A   192.0.2.80
        web.shop    300 AAAA 2001:db8::80
        bigalias    60 CNAME big.fleet.local.

        """

    static let all = ZoneSet([
        parseZone(beaconTest, origin: "beacon.test."), parseZone(rfc4592, origin: "example."),
        parseZone(local, origin: "local."),
    ])
}

/// When the registrations were made, and when the table's queries are asked (half a second later,
/// so that every dynamic TTL rounds down: 29.5 s left gives 28).
let registeredAt = Instant.at(1_000)
let askedAt = Instant.at(1_000.5)

enum Registrations {
    /// The table the query cases run against.
    static func table() -> LeaseTable {
        var table = LeaseTable()
        func add(_ spec: InstanceSpec, at instant: Instant = registeredAt) {
            do {
                _ = try table.register(spec, now: instant)
            } catch {
                preconditionFailure("fixture registration: \(error)")
            }
        }
        add(
            instance(
                "c1", "orders", "create", "10.0.0.1", 8080, ttl: 30, priority: 10, weight: 5,
                meta: [("version", "1.2"), ("zone", "a")]))
        add(instance("c2", "orders", "create", "10.0.0.2", 8081, ttl: 20))
        add(instance("c6", "orders", "create", "2001:db8::6", 8082, ttl: 300))
        // Its lease ended at registeredAt - 5 s; never swept.
        add(instance("gone", "orders", "create", "10.0.0.9", 8089, ttl: 5), at: registeredAt.adding(seconds: -10))
        add(instance("a1", "orders", "api", "10.0.0.50", 9000, ttl: 60))
        add(instance("w1", "shop", "web", "2001:db8::81", 443, ttl: 10))
        add(instance("p1", "payments", "charge", "10.0.1.1", 7000, ttl: 30))
        return table
    }

    static func instance(
        _ id: String, _ service: String, _ function: String, _ address: String, _ port: UInt16, ttl: UInt32,
        priority: UInt16 = 0, weight: UInt16 = 1, meta: [(String, String)] = []
    ) -> InstanceSpec {
        InstanceSpec(
            service: service, function: function, id: id, address: IPAddress(address)!, port: port, ttl: ttl,
            priority: priority, weight: weight, meta: meta.map { MetaEntry(key: $0.0, value: $0.1) })
    }
}

/// A responder over `Zones.all` with registrations under `local.` (max TTL 30), and the plumbing
/// from query bytes to response bytes.
struct Server {
    var responder: Responder
    var leases: LeaseTable

    init(
        leases: LeaseTable = Registrations.table(), zones: ZoneSet = Zones.all, apex: String = "local.",
        maxTTL: UInt32 = 30, udpMaxPayload: Int = 1232
    ) {
        responder = Responder(
            resolver: Resolver(zones: zones, dynamic: DynamicNames(apex: dnsName(apex), maxTTL: maxTTL)),
            udpMaxPayload: udpMaxPayload)
        self.leases = leases
    }

    /// The response bytes, or nil when the responder drops the query.
    func respondBytes(
        _ query: [UInt8], transport: Responder.Transport = .udp, now: Instant = askedAt, rotation: Int = 0
    ) -> [UInt8]? {
        var writer = WireWriter(capacity: 512)
        let outcome = query.withUnsafeBytes { raw in
            responder.respond(
                to: raw, transport: transport, leases: leases, now: now, rotation: rotation, into: &writer)
        }
        switch outcome {
        case .send: return writer.bytes
        case .drop: return nil
        case .forward: preconditionFailure("forwarding is off in these tests")
        }
    }

    /// The decoded response, or nil when dropped (a response that does not decode fails the test).
    func ask(
        _ query: DNSQuery, transport: Responder.Transport = .udp, now: Instant = askedAt, rotation: Int = 0,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> Message? {
        guard let bytes = respondBytes(query.bytes, transport: transport, now: now, rotation: rotation) else {
            return nil
        }
        do {
            return try Message.decode(bytes)
        } catch {
            Issue.record("response does not decode: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    func ask(
        _ name: String, _ type: RRType, transport: Responder.Transport = .udp, now: Instant = askedAt
    )
        -> Message?
    {
        ask(DNSQuery(name, type), transport: transport, now: now)
    }

    /// The response a `QueryCase` row gets, with the row's mismatches.
    func run(_ row: QueryCase, transport: Responder.Transport = .udp, now: Instant = askedAt) -> [String] {
        guard let response = ask(row.query(), transport: transport, now: now) else { return ["dropped"] }
        return row.mismatches(in: response)
    }

    func instance(_ id: String) -> Instance { leases.byID[id]! }
}

extension QueryCase: CustomTestStringConvertible {
    public var testDescription: String { description }
}

/// The SOA records negative answers carry: TTL min(SOA TTL, MINIMUM) (RFC 2308 §3).
let beaconSOA = rr("beacon.test. 5 SOA ns1.beacon.test. hostmaster.beacon.test. 2024010101 3600 600 86400 5")
let exampleSOA = rr("example. 3600 SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 7200")
let localSOA = rr("local. 5 SOA ns.local. hostmaster.local. 1 3600 600 86400 5")
