import DNSWire
import Leases

/// A function's dynamic answers (`F.S` SRV, A, AAAA), rendered once per entry version and kept with
/// the entry, so that every query for a function copies bytes instead of building records: a hot
/// 3,000-instance function costs about what a small one does, and whether an answer fits is known
/// from its size before anything is written (a UDP answer that cannot fit is a TC reply at once).
///
/// What cannot be cached is patched per query: the TTL of each record (from deadlines, which
/// heartbeats move without a new entry) and the order (rotation picks the first record; the rest
/// follow in id order, wrapping). Everything here was live when rendered and stays live until
/// `earliest`, since deadlines only move later; past it, or after a heartbeat while the TTL is
/// below the cap, `current` checks the deadlines again (O(n) loads, no rendering), and renders
/// again only if an instance has ended.
final class FunctionAnswers: Sendable {
    /// The live instances when rendered, in id order: the rotation indexes this.
    let live: [Instance]
    /// One SRV record per instance of `live`, back to back: owner (a pointer to the question), type,
    /// class, a zero TTL each query overwrites, RDLENGTH, priority, weight, port, and the target
    /// `ID.F.S.<domain>` uncompressed (RFC 2782).
    let srvRecords: [UInt8]
    /// Where each record of `srvRecords` starts, then where the last one ends (`live.count + 1`).
    let srvOffsets: [Int32]
    /// Distinct addresses in order of first appearance in `live` (one A or AAAA record each).
    let ipv4: [UInt32]
    let ipv6: [IPAddressValue]
    /// The live instances with each kind of address: an A or AAAA answer exposes all of them.
    let ipv4Instances: [Instance]
    let ipv6Instances: [Instance]
    /// The earliest deadline of all of `live`, of those with IPv4 and of those with IPv6 addresses,
    /// as last checked (`Instant.never` for none), and the entry's heartbeat count before that check.
    let earliest: Instant
    let earliestIPv4: Instant
    let earliestIPv6: Instant
    let renewals: UInt64

    /// Offset of the TTL and of the target name within an SRV record.
    static let ttlOffset = 6
    static let targetOffset = 18

    /// The answers for `entry` at `now`: the cached ones while they hold, else checked or rendered
    /// again (and kept for the next query).
    /// - Parameter apexWire: the domain in wire form, lower-case.
    static func current(for entry: FunctionEntry, apexWire: [UInt8], now: Instant, maxTTL: UInt32) -> FunctionAnswers {
        let renewals = entry.renewals
        if let cached = entry.derived.load() as? FunctionAnswers {
            if now < cached.earliest {
                // Unchanged deadlines, or an earliest one far enough off that the TTL is the cap anyway.
                let capped = cached.earliest.nanoseconds &- now.nanoseconds >= (Int64(maxTTL) + 2) * 1_000_000_000
                if cached.renewals == renewals || capped { return cached }
            }
            if let checked = cached.checked(now: now, renewals: renewals) {
                entry.derived.store(checked)
                return checked
            }
        }
        let rendered = FunctionAnswers(entry: entry, apexWire: apexWire, now: now, renewals: renewals)
        entry.derived.store(rendered)
        return rendered
    }

    /// Renders the live instances of `entry`.
    init(entry: FunctionEntry, apexWire: [UInt8], now: Instant, renewals: UInt64) {
        var live: [Instance] = []
        live.reserveCapacity(entry.instances.count)
        entry.instances.forEach { if $0.isLive(at: now) { live.append($0) } }
        var suffix: [UInt8] = []
        for label in [entry.function, entry.service] {
            suffix.append(UInt8(label.utf8.count))
            suffix.append(contentsOf: label.utf8)
        }
        suffix.append(contentsOf: apexWire)
        var records: [UInt8] = []
        records.reserveCapacity(live.count * (Self.targetOffset + 16 + suffix.count))
        var offsets: [Int32] = []
        offsets.reserveCapacity(live.count + 1)
        var ipv4: [UInt32] = []
        var ipv6: [IPAddressValue] = []
        var seen = Set<IPAddressValue>()
        var ipv4Instances: [Instance] = []
        var ipv6Instances: [Instance] = []
        for instance in live {
            let spec = instance.spec
            offsets.append(Int32(records.count))
            let id = Array(spec.id.utf8)
            let rdataLength = 6 + 1 + id.count + suffix.count
            for value in [0xC00C, RRType.srv.rawValue, 1, 0, 0, UInt16(rdataLength), spec.priority, spec.weight, spec.port] {
                records.append(UInt8(truncatingIfNeeded: value >> 8))
                records.append(UInt8(truncatingIfNeeded: value))
            }
            records.append(UInt8(id.count))
            records.append(contentsOf: id)
            records.append(contentsOf: suffix)
            let fresh = seen.insert(spec.address).inserted
            switch spec.address {
            case .v4(let value):
                ipv4Instances.append(instance)
                if fresh { ipv4.append(value) }
            case .v6:
                ipv6Instances.append(instance)
                if fresh { ipv6.append(spec.address) }
            }
        }
        offsets.append(Int32(records.count))
        self.live = live
        srvRecords = records
        srvOffsets = offsets
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.ipv4Instances = ipv4Instances
        self.ipv6Instances = ipv6Instances
        (earliest, earliestIPv4, earliestIPv6) = Self.earliestDeadlines(live)
        self.renewals = renewals
    }

    private init(rendered: FunctionAnswers, earliest: (Instant, Instant, Instant), renewals: UInt64) {
        live = rendered.live
        srvRecords = rendered.srvRecords
        srvOffsets = rendered.srvOffsets
        ipv4 = rendered.ipv4
        ipv6 = rendered.ipv6
        ipv4Instances = rendered.ipv4Instances
        ipv6Instances = rendered.ipv6Instances
        (self.earliest, earliestIPv4, earliestIPv6) = earliest
        self.renewals = renewals
    }

    /// The same rendering with its deadlines read again, or nil when an instance has ended since
    /// (then it must be rendered again without it).
    private func checked(now: Instant, renewals: UInt64) -> FunctionAnswers? {
        let deadlines = Self.earliestDeadlines(live)
        guard now < deadlines.all else { return nil }
        return FunctionAnswers(rendered: self, earliest: deadlines, renewals: renewals)
    }

    private static func earliestDeadlines(_ instances: [Instance]) -> (all: Instant, ipv4: Instant, ipv6: Instant) {
        var ipv4 = Instant.never
        var ipv6 = Instant.never
        for instance in instances {
            let deadline = instance.deadline
            switch instance.spec.address {
            case .v4: if deadline < ipv4 { ipv4 = deadline }
            case .v6: if deadline < ipv6 { ipv6 = deadline }
            }
        }
        return (min(ipv4, ipv6), ipv4, ipv6)
    }
}

extension Instant {
    /// Later than any deadline: the earliest deadline of no instances.
    static let never = Instant(nanoseconds: .max)
}
