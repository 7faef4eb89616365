import Primitives
import Synchronization

/// The instances of one function of one service, as of one change.
///
/// Immutable: a change builds a new entry with a higher `index`, so a reader holding an entry sees
/// a consistent set. Instances are sorted by id, which makes listings stable; they sit in persistent
/// trees, so the next entry shares all but O(log n) nodes with this one.
package final class FunctionEntry: Sendable {
    package let service: String
    package let function: String
    /// Rises on every change to the set of instances or their data (not on heartbeats).
    package let index: UInt64
    package let instances: InstanceTree
    /// Deregistered instances whose drain has not ended: each one's own name (`ID.F.S`) keeps
    /// answering until its deadline, the drain's end, so that an SRV answer still cached somewhere
    /// leads to an address while the instance serves. The function's own answers leave them out.
    package let draining: InstanceTree
    /// Heartbeats of this entry's instances: a heartbeat moves a deadline without a new entry, and
    /// whatever was derived from the deadlines (the earliest one, for answer TTLs) checks this first.
    private let renewalCounter = Atomic<UInt64>(0)
    /// What the DNS side derived from this version (the rendered answers of a large function),
    /// built on first use; held inline, so an entry that never needs one costs no allocation for it.
    package let derived = DerivedValue()

    package init(
        service: String, function: String, index: UInt64, instances: InstanceTree, draining: InstanceTree = .empty
    ) {
        self.service = service
        self.function = function
        self.index = index
        self.instances = instances
        self.draining = draining
    }

    package convenience init(
        service: String, function: String, index: UInt64, instances: [Instance], draining: [Instance] = []
    ) {
        self.init(
            service: service, function: function, index: index,
            instances: InstanceTree(sorted: instances.sorted { $0.spec.id < $1.spec.id }),
            draining: InstanceTree(sorted: draining.sorted { $0.spec.id < $1.spec.id }))
    }

    package var renewals: UInt64 { renewalCounter.load(ordering: .acquiring) }

    /// Called after a heartbeat moved the deadline of one of this entry's instances.
    package func noteRenewal() { renewalCounter.add(1, ordering: .releasing) }

    /// The instances whose lease has not ended at `now`.
    package func live(at now: Instant) -> [Instance] { instances.filter { $0.isLive(at: now) } }

    package func hasLive(at now: Instant) -> Bool { instances.contains { $0.isLive(at: now) } }

    /// Whether `F.S` exists at `now`: something lives in it, or a draining instance's name below it
    /// still answers (then it is an empty non-terminal).
    package func exists(at now: Instant) -> Bool { hasLive(at: now) || draining.contains { $0.isLive(at: now) } }

    /// The live instance with `id`, or the draining one whose drain has not ended: what `ID.F.S` answers.
    package func named(_ id: String, at now: Instant) -> Instance? {
        if let instance = instances.instance(id: id), instance.isLive(at: now) { return instance }
        return draining.instance(id: id).flatMap { $0.isLive(at: now) ? $0 : nil }
    }

    /// `named(_:at:)` for an id given as the bytes of a query's label: no allocation.
    package func named(idBytes: UnsafeRawBufferPointer, at now: Instant) -> Instance? {
        if let instance = instances.instance(idBytes: idBytes), instance.isLive(at: now) { return instance }
        return draining.instance(idBytes: idBytes).flatMap { $0.isLive(at: now) ? $0 : nil }
    }

    /// Whether nothing is left to answer for, now or later: the entry can be freed.
    var isEmpty: Bool { instances.isEmpty && draining.isEmpty }

    /// The earliest deadline among live instances, or nil when none is live.
    package func earliestDeadline(at now: Instant) -> Instant? {
        var earliest: Instant? = nil
        instances.forEach { instance in
            let deadline = instance.deadline
            guard now < deadline else { return }
            if earliest == nil || deadline < earliest! { earliest = deadline }
        }
        return earliest
    }
}

/// A value derived from an immutable entry and kept with it, such as its rendered DNS answers:
/// computed by whoever needs it first, replaced when time or heartbeats make it stale, freed with
/// the entry. A short lock guards the reference; the value itself is immutable.
package struct DerivedValue: ~Copyable, Sendable {
    private let value = Locked<(any AnyObject & Sendable)?>(nil)

    package init() {}

    package func load() -> (any AnyObject & Sendable)? { value.withLock { $0 } }

    package func store(_ new: any AnyObject & Sendable) { value.withLock { $0 = new } }
}

/// A service and function pair, lower-case.
package struct FunctionKey: Hashable, Sendable, CustomStringConvertible {
    package var service: String
    package var function: String

    package init(service: String, function: String) {
        self.service = service
        self.function = function
    }

    package var description: String { "\(function).\(service)" }
}

/// Services and functions with live instances, sorted, with the number live: `GET /v1/services`.
package enum LeaseSummary {
    package typealias Row = (service: String, functions: [(function: String, instances: Int)])

    /// Computed from entries copied out of the table, so the walk happens outside its lock.
    package static func of(_ entries: [FunctionEntry], now: Instant) -> [Row] {
        var byService: [String: [(function: String, instances: Int)]] = [:]
        for entry in entries {
            var live = 0
            entry.instances.forEach { live += $0.isLive(at: now) ? 1 : 0 }
            if live > 0 { byService[entry.service, default: []].append((entry.function, live)) }
        }
        return byService.map { (service: $0.key, functions: $0.value.sorted { $0.function < $1.function }) }
            .sorted { $0.service < $1.service }
    }
}
