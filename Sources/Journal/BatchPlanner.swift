import Leases

/// A register or deregister waiting for the writer thread.
enum PendingOperation: Sendable {
    /// With the services the caller may write (nil: any).
    case register(InstanceSpec, allowedServices: Set<String>?, JournalStore.Completion)
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
        /// The instance holding the id (for its service and function), when live.
        var owner: Instance?
    }

    /// An instance standing for a registration earlier in the batch, for the owner and limit checks.
    private static func ownerStandIn(_ spec: InstanceSpec) -> Instance {
        Instance(spec: spec, deadline: Instant(nanoseconds: .max), registeredAt: .zero)
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
            case .register(let spec, let allowedServices, _):
                let key = FunctionKey(service: spec.service, function: spec.function)
                let previous = slot(spec.id, overlay: overlay, table: table, now: now)
                let owner = previous.live ? previous.owner : nil
                do throws(LeaseError) {
                    try Admission.check(
                        spec, previous: owner, allowedServices: allowedServices, limits: table.limits,
                        tableCount: table.count + addedInstances, hasID: previous.key != nil,
                        liveInFunction: { table.liveCount(key, now: now) + addedPerFunction[key, default: 0] })
                } catch {
                    decisions.append(.refuse(.lease(error)))
                    continue
                }
                // Counts of live instances: the table's plus what the batch added so far.
                let replacesLiveHere = previous.live && previous.key == key
                if previous.live, let old = previous.key, old != key { addedPerFunction[old, default: 0] -= 1 }
                if previous.key == nil { addedInstances += 1 }
                if !replacesLiveHere { addedPerFunction[key, default: 0] += 1 }
                overlay[spec.id] = Slot(key: key, live: true, owner: ownerStandIn(spec))
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
                overlay[id] = Slot(key: nil, live: false, owner: nil)
                decisions.append(.write(.deregister(id: id), found: found))
            }
        }
        return decisions
    }

    private static func slot(_ id: String, overlay: [String: Slot], table: borrowing LeaseTable, now: Instant) -> Slot {
        if let slot = overlay[id] { return slot }
        guard let instance = table.byID[id] else { return Slot(key: nil, live: false, owner: nil) }
        let live = instance.isLive(at: now)
        return Slot(
            key: FunctionKey(service: instance.spec.service, function: instance.spec.function), live: live,
            owner: live ? instance : nil)
    }
}
