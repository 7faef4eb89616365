/// The instances of one function of one service, as of one change.
///
/// Immutable: a change builds a new entry with a higher `index`, so a reader holding an entry sees
/// a consistent set. Instances are sorted by id, which makes listings stable.
package final class FunctionEntry: Sendable {
    package let service: String
    package let function: String
    /// Rises on every change to the set of instances or their data (not on heartbeats).
    package let index: UInt64
    package let instances: [Instance]
    /// Deregistered instances whose drain has not ended: each one's own name (`ID.F.S`) keeps
    /// answering until its deadline, the drain's end, so that an SRV answer still cached somewhere
    /// leads to an address while the instance serves. The function's own answers leave them out.
    package let draining: [Instance]

    package init(service: String, function: String, index: UInt64, instances: [Instance], draining: [Instance] = []) {
        self.service = service
        self.function = function
        self.index = index
        self.instances = instances
        self.draining = draining
    }

    /// The instances whose lease has not ended at `now`.
    package func live(at now: Instant) -> [Instance] { instances.filter { $0.isLive(at: now) } }

    package func hasLive(at now: Instant) -> Bool { instances.contains { $0.isLive(at: now) } }

    /// Whether `F.S` exists at `now`: something lives in it, or a draining instance's name below it
    /// still answers (then it is an empty non-terminal).
    package func exists(at now: Instant) -> Bool { hasLive(at: now) || draining.contains { $0.isLive(at: now) } }

    /// The live instance with `id`, or the draining one whose drain has not ended: what `ID.F.S` answers.
    package func named(_ id: String, at now: Instant) -> Instance? {
        // Instances are sorted by id: a binary search keeps a large function's names cheap.
        var low = 0
        var high = instances.count
        while low < high {
            let middle = (low + high) / 2
            if instances[middle].spec.id < id { low = middle + 1 } else { high = middle }
        }
        if low < instances.count, instances[low].spec.id == id, instances[low].isLive(at: now) { return instances[low] }
        return draining.first { $0.spec.id == id && $0.isLive(at: now) }
    }

    /// Whether nothing is left to answer for, now or later: the entry can be freed.
    var isEmpty: Bool { instances.isEmpty && draining.isEmpty }

    /// The earliest deadline among live instances, or nil when none is live.
    package func earliestDeadline(at now: Instant) -> Instant? {
        var earliest: Instant? = nil
        for instance in instances {
            let deadline = instance.deadline
            guard now < deadline else { continue }
            if earliest == nil || deadline < earliest! { earliest = deadline }
        }
        return earliest
    }
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
            let live = entry.instances.reduce(0) { $0 + ($1.isLive(at: now) ? 1 : 0) }
            if live > 0 { byService[entry.service, default: []].append((entry.function, live)) }
        }
        return byService.map { (service: $0.key, functions: $0.value.sorted { $0.function < $1.function }) }
            .sorted { $0.service < $1.service }
    }
}
