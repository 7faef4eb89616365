// Authority: the answer engine, with no I/O.
//
// Conventions: a query becomes a response in three pure steps. `ResponsePolicy` reads the header and
// question and decides whether to answer at all (and with which error RCODE); `Resolver` turns a
// question, the zones, a lease lookup and `now` into a `Resolution` (RRsets per section, never split);
// `ResponseWriter` encodes that into the caller's buffer, echoing the question bytes and truncating
// whole RRsets to fit the transport. Names are compared case-insensitively; the question's own case
// is echoed.
import Primitives
import DNSWire
import ZoneFile

/// The records at one owner name, grouped by type.
package struct Node: Sendable {
    package var rrsets: [RRType: StaticRRSet] = [:]
}

/// Static records of one name and type: one TTL for the set (RFC 2181 §5.2: the smallest given).
package struct StaticRRSet: Sendable, Equatable {
    package var ttl: UInt32
    package var rdatas: [RData]
}

/// One zone loaded from a file (or generated for the registration domain), ready for lookups.
package struct Zone: Sendable {
    package let origin: DomainName
    package let soa: SOA
    package let soaTTL: UInt32
    /// Keyed by lower-cased owner.
    package let nodes: [DomainName: Node]
    /// Names with no records that exist because something lives below them (RFC 8020 empty non-terminals).
    package let emptyNonTerminals: Set<DomainName>

    package init(data: ZoneData) {
        origin = data.origin.lowercased()
        if case .soa(let soa) = data.soa.rdata {
            self.soa = soa
        } else {
            preconditionFailure("ZoneData.soa holds SOA RDATA by construction")
        }
        soaTTL = data.soa.ttl
        var nodes: [DomainName: Node] = [:]
        for record in data.records {
            let owner = record.name.lowercased()
            var set = nodes[owner]?.rrsets[record.type] ?? StaticRRSet(ttl: record.ttl, rdatas: [])
            set.ttl = min(set.ttl, record.ttl)
            if !set.rdatas.contains(record.rdata) { set.rdatas.append(record.rdata) }
            nodes[owner, default: Node()].rrsets[record.type] = set
        }
        var nonTerminals = Set<DomainName>()
        for owner in nodes.keys {
            var name = owner.parent
            while name.labelCount > origin.labelCount, nodes[name] == nil {
                nonTerminals.insert(name)
                name = name.parent
            }
        }
        self.nodes = nodes
        self.emptyNonTerminals = nonTerminals
    }

    /// The zone Beacon serves for the registration domain when no zone file holds it: an SOA with
    /// MINIMUM 5 (so a name that appears is not negatively cached for long) and an NS.
    package static func generated(apex: DomainName, nameServerAddress: IPAddress?) -> Zone {
        let apex = apex.lowercased()
        let ns = apex.prepending(Array("ns".utf8)) ?? apex
        let hostmaster = apex.prepending(Array("hostmaster".utf8)) ?? apex
        let soa = ResourceRecord(
            name: apex, type: .soa, ttl: 60,
            rdata: .soa(SOA(mname: ns, rname: hostmaster, serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: 5)))
        var records = [soa, ResourceRecord(name: apex, type: .ns, ttl: 60, rdata: .ns(ns))]
        switch nameServerAddress {
        case .v4(let address)?: records.append(ResourceRecord(name: ns, type: .a, ttl: 60, rdata: .a(address)))
        case .v6(let address)?: records.append(ResourceRecord(name: ns, type: .aaaa, ttl: 60, rdata: .aaaa(address)))
        case nil: break
        }
        return Zone(data: ZoneData(origin: apex, records: records, soa: soa))
    }

    package func node(_ name: DomainName) -> Node? { nodes[name.lowercased()] }

    /// Whether `name` exists in the static data: it owns records or is an empty non-terminal.
    package func exists(_ name: DomainName) -> Bool {
        let key = name.lowercased()
        return nodes[key] != nil || emptyNonTerminals.contains(key)
    }

    /// The SOA for the authority section of a negative answer, with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3).
    package var negativeSOA: ResourceRecord {
        ResourceRecord(name: origin, type: .soa, ttl: min(soaTTL, soa.minimum), rdata: .soa(soa))
    }
}

/// Every served zone, found by longest match.
package struct ZoneSet: Sendable {
    package let zones: [Zone]

    package init(_ zones: [Zone]) {
        self.zones = zones.sorted { $0.origin.labelCount > $1.origin.labelCount }
    }

    /// The zone with the longest origin at or above `name`.
    package func zone(for name: DomainName) -> Zone? {
        zones.first { name.isSubdomain(of: $0.origin) }
    }

    package func contains(origin: DomainName) -> Bool { zones.contains { $0.origin == origin } }
}
