import Primitives
import DNSWire
import Leases

/// How names under the registration domain map onto the lease table (CONTRACT "DNS names").
///
/// Relative to the domain: `S` and `_tcp.S` / `_udp.S` exist while S has a live instance (empty
/// non-terminals); `F.S` holds A, AAAA and SRV of F's live instances; `_F._tcp.S` (or `_udp`) holds
/// the same SRV; `ID.F.S` holds that instance's A or AAAA and its meta as TXT.
package struct DynamicNames: Sendable {
    package let apex: DomainName
    package let maxTTL: UInt32
    private let apexLabelCount: Int

    package init(apex: DomainName, maxTTL: UInt32) {
        self.apex = apex.lowercased()
        self.maxTTL = maxTTL
        apexLabelCount = apex.labelCount
    }

    package enum Kind: Equatable {
        case service(String)
        case serviceProtocol(String)
        case function(FunctionKey)
        case srvAlias(FunctionKey)
        case instance(id: String, FunctionKey)
    }

    /// What `name` would be, or nil when it is not a registration name (even if valid DNS).
    package func classify(_ name: DomainName) -> Kind? {
        guard name.isSubdomain(of: apex) else { return nil }
        let labels = name.labels
        let relative = labels.count - apexLabelCount
        func label(_ index: Int) -> String? { LabelRules.normalize(bytes: labels[index]) }
        func underscored(_ index: Int) -> String? {
            let bytes = labels[index]
            guard bytes.first == UInt8(ascii: "_") else { return nil }
            return LabelRules.normalize(bytes: bytes.dropFirst())
        }
        switch relative {
        case 1:
            return label(0).map(Kind.service)
        case 2:
            if let proto = underscored(0), proto == "tcp" || proto == "udp" {
                return label(1).map(Kind.serviceProtocol)
            }
            guard let function = label(0), let service = label(1) else { return nil }
            return .function(FunctionKey(service: service, function: function))
        case 3:
            if let function = underscored(0), let proto = underscored(1), proto == "tcp" || proto == "udp",
                let service = label(2)
            {
                return .srvAlias(FunctionKey(service: service, function: function))
            }
            guard let id = label(0), let function = label(1), let service = label(2) else { return nil }
            return .instance(id: id, FunctionKey(service: service, function: function))
        default:
            return nil
        }
    }

    /// Whether `name` is a function, SRV or instance name under the domain: one whose data
    /// registrations provide, so no answer for it may be fixed in advance.
    package func isRegistrationShaped(_ name: DomainName) -> Bool {
        switch classify(name) {
        case .function?, .srvAlias?, .instance?: true
        case .service?, .serviceProtocol?, nil: false
        }
    }

    /// Whether the name exists through registrations at `now`.
    package func exists(_ kind: Kind, leases: some LeaseLookup, now: Instant) -> Bool {
        switch kind {
        case .service(let service):
            return leases.serviceHasLive(service, now: now, includingDraining: true)
        case .serviceProtocol(let service):
            return leases.serviceHasLive(service, now: now, includingDraining: false)
        case .function(let key):
            // A draining instance's name lies below `F.S`, which then exists with no data of its own.
            return leases.functionEntry(service: key.service, function: key.function)?.exists(at: now) ?? false
        case .srvAlias(let key):
            return leases.functionEntry(service: key.service, function: key.function)?.hasLive(at: now) ?? false
        case .instance(let id, let key):
            return instance(id: id, key: key, leases: leases, now: now) != nil
        }
    }

    /// The dynamic RRsets at `owner`, in type order A, AAAA, SRV, TXT.
    package func rrsets(_ kind: Kind, owner: DomainName, leases: some LeaseLookup, now: Instant) -> [AnswerRRSet] {
        switch kind {
        case .service, .serviceProtocol:
            return []
        case .function(let key):
            let live = liveInstances(key, leases: leases, now: now)
            return [
                addressSet(owner: owner, type: .a, live.filter { $0.spec.address.rrType == .a }, now: now),
                addressSet(owner: owner, type: .aaaa, live.filter { $0.spec.address.rrType == .aaaa }, now: now),
                srvSet(owner: owner, key: key, live, now: now),
            ].compactMap { $0 }
        case .srvAlias(let key):
            return [srvSet(owner: owner, key: key, liveInstances(key, leases: leases, now: now), now: now)].compactMap {
                $0
            }
        case .instance(let id, let key):
            guard let instance = instance(id: id, key: key, leases: leases, now: now) else { return [] }
            let ttl = ttl(until: instance.deadline, now: now)
            var sets = [
                AnswerRRSet(
                    name: owner, type: instance.spec.address.rrType, ttl: ttl, rdatas: [instance.spec.address.rdata],
                    instances: [instance])
            ]
            if !instance.spec.meta.isEmpty {
                sets.append(
                    AnswerRRSet(
                        name: owner, type: .txt, ttl: ttl, rdatas: instance.spec.meta.map { .txt([$0.txtString]) },
                        instances: [instance]))
            }
            return sets
        }
    }

    /// `ID.F.S.<domain>`: the SRV target of an instance.
    package func instanceName(_ instance: Instance) -> DomainName {
        let spec = instance.spec
        return apex.prepending(Array(spec.service.utf8))?.prepending(Array(spec.function.utf8))?
            .prepending(Array(spec.id.utf8)) ?? apex
    }

    // MARK: - Helpers

    /// The live instance `id` of `key`, or the draining one whose drain has not ended.
    private func instance(id: String, key: FunctionKey, leases: some LeaseLookup, now: Instant) -> Instance? {
        leases.functionEntry(service: key.service, function: key.function)?.named(id, at: now)
    }

    private func liveInstances(_ key: FunctionKey, leases: some LeaseLookup, now: Instant) -> [Instance] {
        leases.functionEntry(service: key.service, function: key.function)?.live(at: now) ?? []
    }

    private func ttl(until deadline: Instant, now: Instant) -> UInt32 {
        TTLPolicy.answerTTL(earliestDeadline: deadline, now: now, maxTTL: maxTTL)
    }

    private func earliestTTL(_ instances: [Instance], now: Instant) -> UInt32 {
        let earliest = instances.map(\.deadline).min() ?? now
        return ttl(until: earliest, now: now)
    }

    private func addressSet(owner: DomainName, type: RRType, _ instances: [Instance], now: Instant) -> AnswerRRSet? {
        guard !instances.isEmpty else { return nil }
        var seen = Set<IPAddress>()
        let rdatas = instances.compactMap { seen.insert($0.spec.address).inserted ? $0.spec.address.rdata : nil }
        return AnswerRRSet(
            name: owner, type: type, ttl: earliestTTL(instances, now: now), rdatas: rdatas, instances: instances)
    }

    private func srvSet(owner: DomainName, key: FunctionKey, _ instances: [Instance], now: Instant) -> AnswerRRSet? {
        guard !instances.isEmpty else { return nil }
        let rdatas = instances.map { instance -> RData in
            .srv(
                SRV(
                    priority: instance.spec.priority, weight: instance.spec.weight, port: instance.spec.port,
                    target: instanceName(instance)))
        }
        return AnswerRRSet(
            name: owner, type: .srv, ttl: earliestTTL(instances, now: now), rdatas: rdatas, instances: instances)
    }
}
