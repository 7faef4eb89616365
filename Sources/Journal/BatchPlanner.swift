import Leases

/// A register or deregister waiting for the writer thread.
enum PendingOperation: Sendable {
    case register(InstanceSpec, JournalStore.Completion)
    case deregister(String, JournalStore.Completion)
}

/// Decides, before anything is written, which operations of a batch the table will accept.
///
/// A refused operation must not reach the journal (replaying it later could admit what the client
/// was told was refused), so the table's limits and a deregister's target are checked first. The
/// check walks the batch in order against the table plus the batch's own earlier effects: a
/// register and a deregister of the same id in one batch both succeed, and ten registrations
/// that would each just fit under the limit do not all pass. Only the writer thread changes
/// membership (the expiry sweep only removes, which can only make room), so a decision made
/// here still holds when the batch is applied after its fsync.
enum BatchPlanner {
    enum Decision {
        /// Journal this entry. For a deregister, the instance found live (its drain is answered
        /// from it even if its lease ends during the fsync).
        case write(JournalEntry, found: Instance?)
        case refuse(StoreError)
    }

    /// Where an id stands after the batch's earlier operations.
    private struct Slot {
        /// Its function, or nil when the id is absent from the table.
        var key: FunctionKey?
        var live: Bool
    }

    /// One decision per operation, in order. Runs under the registry's lock: per operation it costs
    /// a few dictionary lookups, nothing proportional to the table.
    static func plan(_ operations: [PendingOperation], table: borrowing LeaseTable, now: Instant) -> [Decision] {
        var overlay: [String: Slot] = [:]
        var addedInstances = 0
        var addedPerFunction: [FunctionKey: Int] = [:]
        var decisions: [Decision] = []
        decisions.reserveCapacity(operations.count)
        for operation in operations {
            switch operation {
            case .register(let spec, _):
                let key = FunctionKey(service: spec.service, function: spec.function)
                let previous = slot(spec.id, overlay: overlay, table: table, now: now)
                if previous.key == nil, table.count + addedInstances >= table.limits.maxInstances {
                    decisions.append(.refuse(.lease(.tooManyInstances(limit: table.limits.maxInstances))))
                    continue
                }
                let sameFunction = previous.key == key
                let inFunction = (table.entry(key)?.instances.count ?? 0) + addedPerFunction[key, default: 0]
                if !sameFunction, inFunction >= table.limits.maxInstancesPerFunction {
                    decisions.append(
                        .refuse(.lease(.tooManyInstancesInFunction(limit: table.limits.maxInstancesPerFunction))))
                    continue
                }
                if let old = previous.key {
                    if !sameFunction { addedPerFunction[old, default: 0] -= 1 }
                } else {
                    addedInstances += 1
                }
                if !sameFunction { addedPerFunction[key, default: 0] += 1 }
                overlay[spec.id] = Slot(key: key, live: true)
                decisions.append(.write(.register(spec), found: nil))
            case .deregister(let id, _):
                let previous = slot(id, overlay: overlay, table: table, now: now)
                guard previous.live, let old = previous.key else {
                    decisions.append(.refuse(.lease(.unknownInstance(id))))
                    continue
                }
                // One registered earlier in this batch is not in the table yet: applying finds it.
                let found = overlay[id] == nil ? table.instance(id: id, now: now) : nil
                addedInstances -= 1
                addedPerFunction[old, default: 0] -= 1
                overlay[id] = Slot(key: nil, live: false)
                decisions.append(.write(.deregister(id: id), found: found))
            }
        }
        return decisions
    }

    private static func slot(_ id: String, overlay: [String: Slot], table: borrowing LeaseTable, now: Instant) -> Slot {
        if let slot = overlay[id] { return slot }
        guard let instance = table.byID[id] else { return Slot(key: nil, live: false) }
        return Slot(
            key: FunctionKey(service: instance.spec.service, function: instance.spec.function), live: instance.isLive(at: now))
    }
}
