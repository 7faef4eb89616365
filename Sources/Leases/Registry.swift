import Primitives
import Synchronization

/// The lease table shared between threads: one mutex, short critical sections, and change listeners.
///
/// Readers (DNS threads, HTTP reads) hold the lock only to look up an entry; entries and instances
/// are immutable or atomic, so the work of answering happens outside it.
package final class Registry: Sendable {
    private let table: Locked<LeaseTable>
    private let listeners = Locked<[@Sendable (RegistryChange) -> Void]>([])
    package let counters = RegistryCounters()

    package init(limits: LeaseLimits = LeaseLimits(), initialIndex: UInt64 = 0) {
        table = Locked(LeaseTable(limits: limits, initialIndex: initialIndex))
    }

    /// Calls `listener` after each change, on the thread that made it, outside the lock.
    package func addListener(_ listener: @escaping @Sendable (RegistryChange) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    // MARK: - Mutations

    package func register(_ spec: InstanceSpec, now: Instant, allowedServices: Set<String>? = nil) throws(LeaseError)
        -> LeaseTable.Registration
    {
        try register(spec, deadline: now.adding(seconds: Int64(spec.ttl)), now: now, allowedServices: allowedServices)
    }

    package func register(
        _ spec: InstanceSpec, deadline: Instant, now: Instant, allowedServices: Set<String>? = nil
    ) throws(LeaseError) -> LeaseTable.Registration {
        let result: Result<(LeaseTable.Registration, UInt64), LeaseError> = table.withLock { table in
            do throws(LeaseError) {
                let registration = try table.register(
                    spec, deadline: deadline, now: now, allowedServices: allowedServices)
                return .success((registration, table.lastIndex))
            } catch {
                return .failure(error)
            }
        }
        if case .failure(.tooManyInstances) = result { counters.limitRejections.add(1, ordering: .relaxed) }
        if case .failure(.tooManyInstancesInFunction) = result { counters.limitRejections.add(1, ordering: .relaxed) }
        let (registration, index) = try result.get()
        if registration.replaced == nil {
            counters.registrations.add(1, ordering: .relaxed)
        } else {
            counters.replacements.add(1, ordering: .relaxed)
        }
        publish(RegistryChange(functions: registration.changed, index: index))
        return registration
    }

    /// Fills an empty table with `records` in one pass (recovery), in priority order: where the
    /// limits cannot hold them all, the first ones win.
    /// - Returns: the ids the limits refused.
    package func load(_ records: [LeaseTable.Recovered], now: Instant) -> [String] {
        let (refused, index, count) = table.withLock { table in (table.load(records, now: now), table.lastIndex, table.count) }
        counters.recovered.add(UInt64(count), ordering: .relaxed)
        publish(RegistryChange(functions: [], index: index))
        return refused
    }

    /// Moves the table's index up to at least `index`, so watches never see it fall across a restart.
    package func raiseIndex(atLeast index: UInt64) {
        let raised = table.withLock { table in
            table.raiseIndex(atLeast: index)
            return table.lastIndex
        }
        publish(RegistryChange(functions: [], index: raised))
    }

    package func renew(id: String, now: Instant) -> Instance? {
        let instance = table.withLock { $0.renew(id: id, now: now) }
        if instance != nil { counters.heartbeats.add(1, ordering: .relaxed) }
        return instance
    }

    package func deregister(id: String, now: Instant) -> Instance? {
        let outcome = table.withLock { table -> (Instance, FunctionKey, UInt64)? in
            guard let (instance, key) = table.deregister(id: id, now: now) else { return nil }
            return (instance, key, table.lastIndex)
        }
        guard let (instance, key, index) = outcome else { return nil }
        counters.deregistrations.add(1, ordering: .relaxed)
        publish(RegistryChange(functions: [key], index: index))
        return instance
    }

    /// Sweeps ended leases. Lookups already exclude them; this frees them and wakes watchers.
    ///
    /// Holds the lock for at most `slice` heap entries at a time, so a wave of 100,000 expirations
    /// does not stall DNS readers for its whole length.
    @discardableResult
    package func expire(now: Instant, slice: Int = 128) -> [Instance] {
        var expired: [Instance] = []
        var changed = Set<FunctionKey>()
        var index: UInt64 = 0
        while true {
            let (batch, keys, last, more) = table.withLock { table in
                let (batch, keys) = table.expire(now: now, limit: slice)
                return (batch, keys, table.lastIndex, (table.nextSweep.map { $0 <= now }) ?? false)
            }
            expired += batch
            changed.formUnion(keys)
            index = last
            if !more { break }
        }
        guard !expired.isEmpty else { return [] }
        counters.expirations.add(UInt64(expired.count), ordering: .relaxed)
        publish(RegistryChange(functions: Array(changed), index: index))
        return expired
    }

    // MARK: - Reads

    /// Runs `body` with the table locked. Keep it short: DNS threads wait on this lock.
    package func read<T>(_ body: (borrowing LeaseTable) -> T) -> T {
        table.withLock { body($0) }
    }

    package func entry(_ key: FunctionKey) -> FunctionEntry? { table.withLock { $0.entry(key) } }

    /// The entry of `key` (nil when none) and the index a watch on it compares with, read together.
    package func entryAndIndex(_ key: FunctionKey) -> (FunctionEntry?, UInt64) {
        table.withLock { ($0.entry(key), $0.index(of: key)) }
    }

    /// Every function entry and the table's index, copied under the lock in time proportional to
    /// the number of functions; entries are immutable, so the caller walks them outside it.
    package func functionEntries() -> (entries: [FunctionEntry], index: UInt64) {
        table.withLock { ($0.functionEntries, $0.lastIndex) }
    }

    package func instance(id: String, now: Instant) -> Instance? { table.withLock { $0.instance(id: id, now: now) } }

    package var nextSweep: Instant? { table.withLock { $0.nextSweep } }

    package var count: Int { table.withLock { $0.count } }

    private func publish(_ change: RegistryChange) {
        let current = listeners.withLock { $0 }
        for listener in current { listener(change) }
    }
}

/// Which functions a change touched, and the table index after it.
package struct RegistryChange: Sendable {
    package var functions: [FunctionKey]
    package var index: UInt64
}

/// Totals for `/metrics`.
package final class RegistryCounters: Sendable {
    /// New ids only: replacements and recovered instances are counted apart.
    package let registrations = Atomic<UInt64>(0)
    package let replacements = Atomic<UInt64>(0)
    /// Instances loaded from the data directory at start.
    package let recovered = Atomic<UInt64>(0)
    package let deregistrations = Atomic<UInt64>(0)
    package let heartbeats = Atomic<UInt64>(0)
    package let expirations = Atomic<UInt64>(0)
    package let limitRejections = Atomic<UInt64>(0)
    package init() {}
}
