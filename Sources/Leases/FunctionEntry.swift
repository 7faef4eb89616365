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

    package init(service: String, function: String, index: UInt64, instances: [Instance]) {
        self.service = service
        self.function = function
        self.index = index
        self.instances = instances
    }

    /// The instances whose lease has not ended at `now`.
    package func live(at now: Instant) -> [Instance] { instances.filter { $0.isLive(at: now) } }

    package func hasLive(at now: Instant) -> Bool { instances.contains { $0.isLive(at: now) } }

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
