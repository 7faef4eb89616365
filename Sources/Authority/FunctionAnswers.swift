import Primitives
import DNSWire
import Leases

/// A function's dynamic answers (`F.S` SRV, A, AAAA), rendered once per entry version and kept with
/// the entry, so that every query for a large function copies bytes instead of building records: a
/// hot 3,000-instance function costs about what a small one does, and whether an answer fits is
/// known from its size before anything is written (a UDP answer that cannot fit is a TC reply at once).
///
/// What cannot be cached is patched per query: the TTL of each record (from deadlines, which
/// heartbeats move without a new entry) and the order (rotation picks the first record; the rest
/// follow in id order, wrapping). Everything here was live when rendered and stays live until
/// `earliest`, since deadlines only move later; past it, or after a heartbeat while the TTL is
/// below the cap, `current` checks the deadlines again (O(n) loads, no rendering), and renders
/// again only if an instance has ended.
///
/// Functions of up to `cachedAbove` instances are not kept: their answers are filled per query into
/// one reusable object per thread (`QueryScratch`), which costs less than the memory a rendering per
/// function would take in a table of many small functions.
///
/// Unchecked `Sendable`: an instance kept with an entry is never changed once stored there; the
/// per-thread one is filled in place but never leaves its thread.
final class FunctionAnswers: @unchecked Sendable {
    /// The live instances when rendered, in id order: the rotation indexes this.
    private(set) var live: [Instance] = []
    /// One SRV record per instance of `live`, back to back: owner (a pointer to the question), type,
    /// class, a zero TTL each query overwrites, RDLENGTH, priority, weight, port, and the target
    /// `ID.F.S.<domain>` uncompressed (RFC 2782).
    private(set) var srvRecords: [UInt8] = []
    /// Where each record of `srvRecords` starts, then where the last one ends (`live.count + 1`).
    private(set) var srvOffsets: [Int32] = []
    /// Distinct addresses in order of first appearance in `live` (one A or AAAA record each).
    private(set) var ipv4: [UInt32] = []
    private(set) var ipv6: [IPAddress] = []
    /// The live instances with each kind of address: an A or AAAA answer exposes all of them.
    private(set) var ipv4Instances: [Instance] = []
    private(set) var ipv6Instances: [Instance] = []
    /// The earliest deadline of all of `live`, of those with IPv4 and of those with IPv6 addresses,
    /// as last checked (`Instant.never` for none), and the entry's heartbeat count before that check.
    private(set) var earliest = Instant.never
    private(set) var earliestIPv4 = Instant.never
    private(set) var earliestIPv6 = Instant.never
    private(set) var renewals: UInt64 = 0

    /// Offset of the TTL and of the target name within an SRV record.
    static let ttlOffset = 6
    static let targetOffset = 18
    static let cachedAbove = FunctionAnswersLimits.cachedAbove

    /// The answers for `entry` at `now`: for a small function filled into `reusable`, else the
    /// cached ones while they hold, else checked or rendered again (and kept for the next query).
    /// - Parameter apexWire: the domain in wire form, lower-case.
    static func current(
        for entry: FunctionEntry, apexWire: [UInt8], now: Instant, maxTTL: UInt32, reusable: FunctionAnswers
    ) -> FunctionAnswers {
        let renewals = entry.renewals
        guard entry.instances.count > cachedAbove else {
            reusable.fill(from: entry, apexWire: apexWire, now: now, renewals: renewals)
            return reusable
        }
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
        let rendered = FunctionAnswers()
        rendered.fill(from: entry, apexWire: apexWire, now: now, renewals: renewals)
        entry.derived.store(rendered)
        return rendered
    }

    init() {}

    /// Renders the live instances of `entry`, reusing this object's storage (so a small function
    /// filled again allocates nothing once the storage has grown).
    func fill(from entry: FunctionEntry, apexWire: [UInt8], now: Instant, renewals: UInt64) {
        live.removeAll(keepingCapacity: true)
        srvRecords.removeAll(keepingCapacity: true)
        srvOffsets.removeAll(keepingCapacity: true)
        ipv4.removeAll(keepingCapacity: true)
        ipv6.removeAll(keepingCapacity: true)
        ipv4Instances.removeAll(keepingCapacity: true)
        ipv6Instances.removeAll(keepingCapacity: true)
        entry.instances.forEach { if $0.isLive(at: now) { live.append($0) } }
        // Distinct addresses: a set for many, a scan of the few so far for few.
        var seen = live.count > Self.cachedAbove ? Set<IPAddress>(minimumCapacity: live.count) : nil
        for instance in live {
            let spec = instance.spec
            srvOffsets.append(Int32(srvRecords.count))
            let rdataLength = 6 + 1 + spec.id.utf8.count + 2 + entry.function.utf8.count + entry.service.utf8.count
                + apexWire.count
            append(0xC00C)
            append(RRType.srv.rawValue)
            append(1)  // class IN
            append(0)  // TTL, written per query
            append(0)
            append(UInt16(rdataLength))
            append(spec.priority)
            append(spec.weight)
            append(spec.port)
            append(label: spec.id)
            append(label: entry.function)
            append(label: entry.service)
            srvRecords.append(contentsOf: apexWire)
            let fresh: Bool
            if seen != nil {
                fresh = seen!.insert(spec.address).inserted
            } else {
                fresh = !live.prefix { $0 !== instance }.contains { $0.spec.address == spec.address }
            }
            switch spec.address {
            case .v4(let value):
                ipv4Instances.append(instance)
                if fresh { ipv4.append(value.value) }
            case .v6:
                ipv6Instances.append(instance)
                if fresh { ipv6.append(spec.address) }
            }
        }
        srvOffsets.append(Int32(srvRecords.count))
        (earliest, earliestIPv4, earliestIPv6) = Self.earliestDeadlines(live)
        self.renewals = renewals
    }

    @inline(__always)
    private func append(label: String) {
        srvRecords.append(UInt8(label.utf8.count))
        srvRecords.append(contentsOf: label.utf8)
    }

    @inline(__always)
    private func append(_ value: UInt16) {
        srvRecords.append(UInt8(truncatingIfNeeded: value >> 8))
        srvRecords.append(UInt8(truncatingIfNeeded: value))
    }

    /// The same rendering with its deadlines read again (sharing its storage), or nil when an
    /// instance has ended since (then it must be rendered again without it).
    private func checked(now: Instant, renewals: UInt64) -> FunctionAnswers? {
        let deadlines = Self.earliestDeadlines(live)
        guard now < deadlines.all else { return nil }
        let checked = FunctionAnswers()
        checked.live = live
        checked.srvRecords = srvRecords
        checked.srvOffsets = srvOffsets
        checked.ipv4 = ipv4
        checked.ipv6 = ipv6
        checked.ipv4Instances = ipv4Instances
        checked.ipv6Instances = ipv6Instances
        (checked.earliest, checked.earliestIPv4, checked.earliestIPv6) = deadlines
        checked.renewals = renewals
        return checked
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

package enum FunctionAnswersLimits {
    /// Functions with more instances than this keep their rendering with their entry.
    package static let cachedAbove = 16
}

extension Instant {
    /// Later than any deadline: the earliest deadline of no instances.
    static let never = Instant(nanoseconds: .max)
}
