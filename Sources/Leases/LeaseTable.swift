/// Limits on the table's size; past them a registration is refused with a `LeaseError`.
package struct LeaseLimits: Sendable, Equatable {
    package var maxInstances: Int
    package var maxInstancesPerFunction: Int

    package init(maxInstances: Int = 2_000_000, maxInstancesPerFunction: Int = 10_000) {
        self.maxInstances = maxInstances
        self.maxInstancesPerFunction = maxInstancesPerFunction
    }
}

/// The registration table: instances by id, grouped by service and function, with lease expiry.
///
/// A value type with no locking and no clock: `Registry` puts it behind a mutex, and callers pass
/// `now`. Every mutation reports which functions changed so watchers can be woken.
package struct LeaseTable {
    package private(set) var byID: [String: Instance] = [:]
    /// service → function → entry. Entries stay when they empty, so a function's index never goes back.
    package private(set) var services: [String: [String: FunctionEntry]] = [:]
    private var heap = ExpiryHeap()
    /// The last index handed to a function entry; one counter for the table, as Consul's is.
    package private(set) var lastIndex: UInt64 = 0
    package var limits: LeaseLimits

    /// - Parameter initialIndex: where indexes start. A server passes a value from the wall clock so
    ///   that indexes keep rising across restarts and a watcher never waits on an index from before one.
    package init(limits: LeaseLimits = LeaseLimits(), initialIndex: UInt64 = 0) {
        self.limits = limits
        lastIndex = initialIndex
    }

    package var count: Int { byID.count }

    // MARK: - Mutations

    /// What a registration did.
    package struct Registration: Sendable {
        package var instance: Instance
        /// The instance this one replaced (same id), if it was live.
        package var replaced: Instance?
        package var changed: [FunctionKey]
    }

    /// Registers `spec` with a lease of its TTL from `now`; an existing id is replaced.
    package mutating func register(_ spec: InstanceSpec, now: Instant) throws(LeaseError) -> Registration {
        try register(spec, deadline: now.adding(seconds: Int64(spec.ttl)), now: now)
    }

    /// Registers `spec` with an explicit deadline (recovery grace, or a mirror of another store).
    package mutating func register(_ spec: InstanceSpec, deadline: Instant, now: Instant) throws(LeaseError)
        -> Registration
    {
        let key = FunctionKey(service: spec.service, function: spec.function)
        let previous = byID[spec.id]
        let previousLive = previous.flatMap { $0.isLive(at: now) ? $0 : nil }
        if previous == nil, byID.count >= limits.maxInstances {
            throw .tooManyInstances(limit: limits.maxInstances)
        }
        let existing = services[spec.service]?[spec.function]?.instances ?? []
        let sameFunction = previous.map { $0.spec.service == spec.service && $0.spec.function == spec.function } ?? false
        if !sameFunction, existing.count >= limits.maxInstancesPerFunction {
            throw .tooManyInstancesInFunction(limit: limits.maxInstancesPerFunction)
        }
        // Answers already out that held the old registration still count toward its drain.
        let instance = Instance(
            spec: spec, deadline: deadline, registeredAt: now, exposedUntil: previous?.exposedUntil ?? .zero)
        var changed: [FunctionKey] = []
        if let previous {
            let oldKey = FunctionKey(service: previous.spec.service, function: previous.spec.function)
            if oldKey != key {
                removeFromEntry(previous, key: oldKey)
                changed.append(oldKey)
            }
        }
        var instances = existing.filter { $0.spec.id != spec.id }
        let position = instances.firstIndex { $0.spec.id > spec.id } ?? instances.endIndex
        instances.insert(instance, at: position)
        setEntry(key, instances: instances)
        changed.append(key)
        byID[spec.id] = instance
        heap.push(.init(deadline: deadline, instance: instance))
        return Registration(instance: instance, replaced: previousLive, changed: changed)
    }

    /// Registers many instances at once into an empty table (recovery): each function's entry is
    /// built once, instead of once per instance as `register` must, so a million instances load in
    /// O(n log n) rather than O(n × instances per function).
    /// - Returns: how many were refused by the limits (in order: the first ones win).
    package mutating func load(_ specs: [InstanceSpec], now: Instant) -> Int {
        precondition(byID.isEmpty, "load fills an empty table; use register otherwise")
        var grouped: [FunctionKey: [Instance]] = [:]
        var refused = 0
        byID.reserveCapacity(specs.count)
        for spec in specs {
            let key = FunctionKey(service: spec.service, function: spec.function)
            guard byID[spec.id] == nil else { continue }
            guard byID.count < limits.maxInstances, (grouped[key]?.count ?? 0) < limits.maxInstancesPerFunction else {
                refused += 1
                continue
            }
            let deadline = now.adding(seconds: Int64(spec.ttl))
            let instance = Instance(spec: spec, deadline: deadline, registeredAt: now)
            byID[spec.id] = instance
            grouped[key, default: []].append(instance)
            heap.push(.init(deadline: deadline, instance: instance))
        }
        for (key, instances) in grouped {
            setEntry(key, instances: instances.sorted { $0.spec.id < $1.spec.id })
        }
        return refused
    }

    /// Renews a live instance's lease to its full TTL from `now`.
    /// - Returns: the instance, or nil when no live instance has `id` (the client registers again).
    package mutating func renew(id: String, now: Instant) -> Instance? {
        guard let instance = byID[id], instance.isLive(at: now) else { return nil }
        instance.extendDeadline(to: now.adding(seconds: Int64(instance.spec.ttl)))
        return instance
    }

    /// Removes a live instance.
    ///
    /// An instance whose lease has ended is left for `expire(now:)`: removing it here, for a call
    /// that reports "not found", would raise the function's index without anyone publishing the
    /// change, and the sweep would then find nothing to report, so watchers of that function would
    /// never be woken for its expiry.
    /// - Returns: the removed instance (for its drain), or nil when none was live with `id`.
    package mutating func deregister(id: String, now: Instant) -> (instance: Instance, changed: FunctionKey)? {
        guard let instance = byID[id], instance.isLive(at: now) else { return nil }
        return (instance, remove(instance))
    }

    /// Removes instances whose lease ended at or before `now`, at most `limit` heap entries at a time.
    ///
    /// Costs O(log n) per heap entry due, and nothing per lease not yet due, plus one rebuild of
    /// each changed function's entry: the ended instances of a function are dropped together, so a
    /// whole fleet ending at once costs O(fleet) rather than a rebuild per instance (O(fleet²)
    /// under the lock DNS readers wait on). `limit` bounds how many heap entries one call examines,
    /// so a wave of expirations is swept in slices between which readers run.
    package mutating func expire(now: Instant, limit: Int = .max) -> (expired: [Instance], changed: [FunctionKey]) {
        var expired: [Instance] = []
        var ended: [FunctionKey: Set<ObjectIdentifier>] = [:]
        var changed: [FunctionKey] = []
        var examined = 0
        while examined < limit, let top = heap.first, top.deadline <= now {
            examined += 1
            _ = heap.popFirst()
            let instance = top.instance
            let deadline = instance.deadline
            if deadline > now {
                // Renewed since queued (or replaced: the stale entry is skipped when it comes up again).
                if byID[instance.id] === instance { heap.push(.init(deadline: deadline, instance: instance)) }
                continue
            }
            // One hash for the common case: remove, and put back in the rare case it was replaced.
            guard let current = byID.removeValue(forKey: instance.id) else { continue }
            guard current === instance else {
                byID[instance.id] = current
                continue
            }
            let key = FunctionKey(service: instance.spec.service, function: instance.spec.function)
            if ended[key] == nil { changed.append(key) }
            ended[key, default: []].insert(ObjectIdentifier(instance))
            expired.append(instance)
        }
        for key in changed {
            let gone = ended[key] ?? []
            setEntry(key, instances: (entry(key)?.instances ?? []).filter { !gone.contains(ObjectIdentifier($0)) })
        }
        return (expired, changed)
    }

    /// The earliest deadline the heap knows, possibly of a renewed lease: a safe time to sweep next.
    package var nextSweep: Instant? { heap.first?.deadline }

    // MARK: - Lookups

    /// The live instance with `id`.
    package func instance(id: String, now: Instant) -> Instance? {
        guard let instance = byID[id], instance.isLive(at: now) else { return nil }
        return instance
    }

    package func entry(_ key: FunctionKey) -> FunctionEntry? { services[key.service]?[key.function] }

    package func entry(service: String, function: String) -> FunctionEntry? { services[service]?[function] }

    /// Whether any function of `service` has a live instance (so `S.<domain>` exists).
    package func serviceHasLive(_ service: String, now: Instant) -> Bool {
        services[service]?.values.contains { $0.hasLive(at: now) } ?? false
    }

    /// Services and functions with live instances, sorted, with the number live.
    package func summary(now: Instant) -> [(service: String, functions: [(function: String, instances: Int)])] {
        var result: [(service: String, functions: [(function: String, instances: Int)])] = []
        for (service, functions) in services {
            var rows: [(function: String, instances: Int)] = []
            for (function, entry) in functions {
                let live = entry.instances.reduce(0) { $0 + ($1.isLive(at: now) ? 1 : 0) }
                if live > 0 { rows.append((function, live)) }
            }
            if !rows.isEmpty { result.append((service, rows.sorted { $0.function < $1.function })) }
        }
        return result.sorted { $0.service < $1.service }
    }

    /// Every instance in the table, live or awaiting its sweep.
    package var allInstances: some Collection<Instance> { byID.values }

    // MARK: - Internals

    private mutating func remove(_ instance: Instance) -> FunctionKey {
        let key = FunctionKey(service: instance.spec.service, function: instance.spec.function)
        byID[instance.id] = nil
        removeFromEntry(instance, key: key)
        return key
    }

    private mutating func removeFromEntry(_ instance: Instance, key: FunctionKey) {
        let instances = (entry(key)?.instances ?? []).filter { $0 !== instance }
        setEntry(key, instances: instances)
    }

    private mutating func setEntry(_ key: FunctionKey, instances: [Instance]) {
        lastIndex += 1
        services[key.service, default: [:]][key.function] = FunctionEntry(
            service: key.service, function: key.function, index: lastIndex, instances: instances)
    }
}
