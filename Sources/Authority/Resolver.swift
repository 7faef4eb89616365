import DNSWire
import Leases

/// Answers one question from the zones and the lease table: a pure function of its inputs.
///
/// Follows RFC 1034 §4.3.2 within a zone: exact match, CNAME chains (inside the zone, at most
/// `maxChain` links), delegations, wildcards per RFC 4592 (the source of synthesis is `*` at the
/// closest encloser; an empty non-terminal blocks it), then NXDOMAIN. Registration names under the
/// domain are merged with static records at the same name and type; a merged set takes the smaller TTL.
package struct Resolver: Sendable {
    package let zones: ZoneSet
    package let dynamic: DynamicNames
    package static let maxChain = 8

    package init(zones: ZoneSet, dynamic: DynamicNames) {
        self.zones = zones
        self.dynamic = dynamic
    }

    /// - Parameters:
    ///   - rotation: rotates the records of each answer set, so that load spreads across instances.
    ///   - minimalANY: answer ANY with one RRset (RFC 8482 §4.1), as over UDP.
    package func resolve(
        _ question: Question, leases: some LeaseLookup, now: Instant, rotation: Int = 0, minimalANY: Bool = false
    ) -> Resolution {
        guard question.rrClass == .in || question.rrClass == .any, let zone = zones.zone(for: question.name) else {
            return Resolution(outcome: .refused)
        }
        var resolution = Resolution(outcome: .answer)
        var name = question.name
        var visited: [DomainName] = []
        while true {
            if let cut = delegation(above: name, in: zone) {
                if visited.isEmpty {
                    resolution.outcome = .delegation
                    resolution.authorities = [cut]
                    addGlue(for: cut, in: zone, to: &resolution, leases: leases, now: now)
                }
                return resolution
            }
            var node = self.node(at: name, owner: name, in: zone, leases: leases, now: now)
            if node == nil, let wildcard = wildcardSource(for: name, in: zone, leases: leases, now: now) {
                node = self.node(at: wildcard, owner: name, in: zone, leases: leases, now: now)
            }
            guard let node else {
                resolution.outcome = .nxDomain
                resolution.authorities = [AnswerRRSet(record: zone.negativeSOA)]
                return resolution
            }
            // RFC 1034 §4.3.2 step 3a: restart at the canonical name "if the data at the node is a
            // CNAME, and QTYPE doesn't match CNAME". ANY matches it, so ANY at a CNAME is the CNAME
            // alone (the node's only data), over UDP and TCP alike.
            if question.type != .cname, question.type != .any, let cname = node.first(where: { $0.type == .cname }),
                case .cname(let target)? = cname.rdatas.first
            {
                resolution.answers.append(cname)
                visited.append(name)
                guard visited.count <= Self.maxChain, target.isSubdomain(of: zone.origin),
                    !visited.contains(target), zones.zone(for: target)?.origin == zone.origin
                else { return resolution }
                name = target
                continue
            }
            var matching = question.type == .any ? node : node.filter { $0.type == question.type }
            if question.type == .any, minimalANY, let first = matching.first { matching = [first] }
            guard !matching.isEmpty else {
                resolution.outcome = visited.isEmpty ? .noData : .answer
                resolution.authorities = [AnswerRRSet(record: zone.negativeSOA)]
                return resolution
            }
            let answers = matching.map { rotated($0, by: rotation) }
            resolution.answers += answers
            // In answer order, so that when not all glue fits, what goes in is the glue of the
            // records the client reads first (as on the fast path).
            addAdditionals(for: answers, in: zone, to: &resolution, leases: leases, now: now)
            return resolution
        }
    }

    // MARK: - Nodes

    /// The merged RRsets at `name` (with `owner` as their name), or nil when the name does not exist.
    /// An existing name with no data gives an empty array.
    func node(at name: DomainName, owner: DomainName, in zone: Zone, leases: some LeaseLookup, now: Instant)
        -> [AnswerRRSet]?
    {
        var sets: [AnswerRRSet] = []
        var exists = false
        if let node = zone.node(name) {
            exists = true
            for (type, set) in node.rrsets.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                sets.append(AnswerRRSet(name: owner, type: type, ttl: set.ttl, rdatas: set.rdatas))
            }
        } else if zone.emptyNonTerminals.contains(name.lowercased()) {
            exists = true
        }
        if zone.origin == dynamic.apex, let kind = dynamic.classify(name) {
            let dynamicSets = dynamic.rrsets(kind, owner: owner, leases: leases, now: now)
            if !dynamicSets.isEmpty || dynamic.exists(kind, leases: leases, now: now) { exists = true }
            for set in dynamicSets {
                if let index = sets.firstIndex(where: { $0.type == set.type }) {
                    sets[index].ttl = min(sets[index].ttl, set.ttl)
                    sets[index].rdatas += set.rdatas.filter { !sets[index].rdatas.contains($0) }
                    sets[index].instances += set.instances
                } else {
                    sets.append(set)
                }
            }
        }
        return exists ? sets : nil
    }

    private func exists(_ name: DomainName, in zone: Zone, leases: some LeaseLookup, now: Instant) -> Bool {
        if zone.exists(name) { return true }
        guard zone.origin == dynamic.apex, let kind = dynamic.classify(name) else { return false }
        return dynamic.exists(kind, leases: leases, now: now)
    }

    /// RFC 4592 §3.3.1: `*.<closest encloser>`, when that node exists in the static data.
    private func wildcardSource(for name: DomainName, in zone: Zone, leases: some LeaseLookup, now: Instant)
        -> DomainName?
    {
        var encloser = name.parent
        while encloser.labelCount >= zone.origin.labelCount {
            if encloser == zone.origin || exists(encloser, in: zone, leases: leases, now: now) {
                guard let source = encloser.prepending([UInt8(ascii: "*")]), zone.node(source) != nil else {
                    return nil
                }
                return source
            }
            encloser = encloser.parent
        }
        return nil
    }

    /// The NS set of a zone cut strictly between the zone's origin and `name` (or at `name`).
    private func delegation(above name: DomainName, in zone: Zone) -> AnswerRRSet? {
        let extra = name.labelCount - zone.origin.labelCount
        guard extra > 0 else { return nil }
        for depth in stride(from: extra - 1, through: 0, by: -1) {
            let candidate = name.dropFirstLabels(depth)
            if let set = zone.node(candidate)?.rrsets[.ns] {
                return AnswerRRSet(name: candidate, type: .ns, ttl: set.ttl, rdatas: set.rdatas)
            }
        }
        return nil
    }

    // MARK: - Additional section

    private func addAdditionals(
        for sets: [AnswerRRSet], in zone: Zone, to resolution: inout Resolution, leases: some LeaseLookup,
        now: Instant
    ) {
        var targets: [DomainName] = []
        for set in sets {
            for rdata in set.rdatas {
                switch rdata {
                case .srv(let srv): targets.append(srv.target)
                case .mx(_, let exchange): targets.append(exchange)
                case .ns(let host): targets.append(host)
                default: break
                }
            }
        }
        addAddresses(of: targets, to: &resolution, leases: leases, now: now)
    }

    private func addGlue(
        for cut: AnswerRRSet, in zone: Zone, to resolution: inout Resolution, leases: some LeaseLookup, now: Instant
    ) {
        let hosts = cut.rdatas.compactMap { rdata -> DomainName? in
            if case .ns(let host) = rdata { return host } else { return nil }
        }
        addAddresses(of: hosts, to: &resolution, leases: leases, now: now)
    }

    /// Adds the A and AAAA sets of each target we are authoritative for (glue and SRV/MX targets).
    private func addAddresses(
        of targets: [DomainName], to resolution: inout Resolution, leases: some LeaseLookup, now: Instant
    ) {
        var seen = Set<DomainName>()
        for target in targets where seen.insert(target).inserted {
            guard let zone = zones.zone(for: target),
                let sets = node(at: target, owner: target, in: zone, leases: leases, now: now)
            else { continue }
            for set in sets where set.type == .a || set.type == .aaaa {
                resolution.additionals.append(set)
            }
        }
    }

    private func rotated(_ set: AnswerRRSet, by rotation: Int) -> AnswerRRSet {
        guard set.rdatas.count > 1, set.type != .cname else { return set }
        var copy = set
        // Any Int is a valid rotation: `%` keeps the sign of a negative one, which would index before 0.
        let count = set.rdatas.count
        let shift = (rotation % count + count) % count
        copy.rdatas = Array(set.rdatas[shift...] + set.rdatas[..<shift])
        return copy
    }
}
