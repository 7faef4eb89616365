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
///
/// Memory follows the live table: a function's entry is freed once nothing lives or drains in it
/// (its index lives on in `freedIndex`, so an index never goes back), and heap entries left behind
/// by replaced or deregistered instances are dropped by a rebuild once they outnumber the live ones.
package struct LeaseTable {
    package private(set) var byID: [String: Instance] = [:]
    /// service → function → entry. An entry goes when nothing lives or drains in it.
    package private(set) var services: [String: [String: FunctionEntry]] = [:]
    /// Deregistered instances still answering under their own name until their drain ends, by id.
    package private(set) var draining: [String: Instance] = [:]
    private var heap = ExpiryHeap()
    /// Heap entries whose instance is no longer in the table (replaced, deregistered, drain cut short).
    private var staleHeapEntries = 0
    /// The last index handed to a function entry; one counter for the table, as Consul's is.
    package private(set) var lastIndex: UInt64 = 0
    /// The index at which an entry was last freed: what a function with no entry reports, so that
    /// a function's index never falls when its entry goes.
    package private(set) var freedIndex: UInt64 = 0
    package var limits: LeaseLimits

    /// - Parameter initialIndex: where indexes start. A server passes a value that exceeds every
    ///   index it handed out before a restart, so a watcher never waits on an index from before one.
    package init(limits: LeaseLimits = LeaseLimits(), initialIndex: UInt64 = 0) {
        self.limits = limits
        lastIndex = initialIndex
        freedIndex = initialIndex
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
    package mutating func register(_ spec: InstanceSpec, now: Instant, allowedServices: Set<String>? = nil)
        throws(LeaseError) -> Registration
    {
        try register(spec, deadline: now.adding(seconds: Int64(spec.ttl)), now: now, allowedServices: allowedServices)
    }

    /// Registers `spec` with an explicit deadline (recovery grace, or a mirror of another store).
    ///
    /// - Parameter allowedServices: the services the caller may write (its token's scope), or nil for
    ///   any. A live id belongs to its service: replacing it from outside that scope is refused.
    package mutating func register(
        _ spec: InstanceSpec, deadline: Instant, now: Instant, allowedServices: Set<String>? = nil
    ) throws(LeaseError) -> Registration {
        let key = FunctionKey(service: spec.service, function: spec.function)
        let previous = byID[spec.id]
        let previousLive = previous.flatMap { $0.isLive(at: now) ? $0 : nil }
        try Admission.check(
            spec, previous: previousLive, allowedServices: allowedServices, limits: limits, tableCount: byID.count,
            hasID: previous != nil, liveInFunction: { liveCount(key, now: now) })
        // Answers already out that held the old registration still count toward its drain.
        let instance = Instance(
            spec: spec, deadline: deadline, registeredAt: now, exposedUntil: previous?.exposedUntil ?? .zero)
        var changed: [FunctionKey] = []
        if let previous {
            staleHeapEntries += 1
            let oldKey = FunctionKey(service: previous.spec.service, function: previous.spec.function)
            if oldKey != key {
                removeFromEntry(previous, key: oldKey)
                changed.append(oldKey)
            }
        }
        var drainingHere = entry(key)?.draining ?? .empty
        if let ghost = draining.removeValue(forKey: spec.id) {
            // The id is back: the new registration answers for its name from now on.
            staleHeapEntries += 1
            let ghostKey = FunctionKey(service: ghost.spec.service, function: ghost.spec.function)
            if ghostKey == key {
                drainingHere = drainingHere.removing(ghost)
            } else {
                removeFromEntry(ghost, key: ghostKey)
                if !changed.contains(ghostKey) { changed.append(ghostKey) }
            }
        }
        // O(log n): the instance takes the place of any with its id. Ended leases not yet swept stay
        // until the sweep (within 50 ms); answers and limits count only live ones.
        let instances = (entry(key)?.instances ?? .empty).inserting(instance)
        setEntry(key, instances: instances, draining: drainingHere)
        changed.append(key)
        byID[spec.id] = instance
        heap.push(.init(deadline: deadline, instance: instance))
        rebuildHeapIfMostlyStale()
        return Registration(instance: instance, replaced: previousLive, changed: changed)
    }

    /// One instance to load at recovery, with the deadline recovery grants it.
    package struct Recovered: Sendable {
        package var spec: InstanceSpec
        package var deadline: Instant

        package init(spec: InstanceSpec, deadline: Instant) {
            self.spec = spec
            self.deadline = deadline
        }
    }

    /// Registers many instances at once into an empty table (recovery): each function's entry is
    /// built once, instead of once per instance as `register` must, so a million instances load in
    /// O(n log n) rather than O(n × instances per function).
    ///
    /// `records` come in priority order: where the limits cannot hold them all, the first ones win
    /// (recovery passes the most recently registered first).
    /// - Returns: the ids the limits refused.
    package mutating func load(_ records: [Recovered], now: Instant) -> [String] {
        precondition(byID.isEmpty, "load fills an empty table; use register otherwise")
        var grouped: [FunctionKey: [Instance]] = [:]
        var refused: [String] = []
        byID.reserveCapacity(records.count)
        for record in records {
            let spec = record.spec
            let key = FunctionKey(service: spec.service, function: spec.function)
            guard byID[spec.id] == nil, now < record.deadline else { continue }
            do throws(LeaseError) {
                try Admission.check(
                    spec, previous: nil, allowedServices: nil, limits: limits, tableCount: byID.count, hasID: false,
                    liveInFunction: { grouped[key]?.count ?? 0 })
            } catch {
                refused.append(spec.id)
                continue
            }
            let instance = Instance(spec: spec, deadline: record.deadline, registeredAt: now)
            byID[spec.id] = instance
            grouped[key, default: []].append(instance)
            heap.push(.init(deadline: record.deadline, instance: instance))
        }
        for (key, instances) in grouped {
            setEntry(key, instances: InstanceTree(sorted: instances.sorted { $0.spec.id < $1.spec.id }), draining: .empty)
        }
        return refused
    }

    /// Renews a live instance's lease to its full TTL from `now`.
    /// - Returns: the instance, or nil when no live instance has `id` (the client registers again).
    package mutating func renew(id: String, now: Instant) -> Instance? {
        guard let instance = byID[id], instance.isLive(at: now) else { return nil }
        instance.extendDeadline(to: now.adding(seconds: Int64(instance.spec.ttl)))
        entry(service: instance.spec.service, function: instance.spec.function)?.noteRenewal()
        return instance
    }

    /// Removes a live instance. If answers holding it may still be cached, its own name keeps
    /// answering until they have all expired (the drain).
    ///
    /// An instance whose lease has ended is left for `expire(now:)`: removing it here, for a call
    /// that reports "not found", would raise the function's index without anyone publishing the
    /// change, and the sweep would then find nothing to report, so watchers of that function would
    /// never be woken for its expiry.
    /// - Returns: the removed instance (for its drain), or nil when none was live with `id`.
    package mutating func deregister(id: String, now: Instant) -> (instance: Instance, changed: FunctionKey)? {
        guard let instance = byID[id], instance.isLive(at: now) else { return nil }
        let key = FunctionKey(service: instance.spec.service, function: instance.spec.function)
        byID[id] = nil
        staleHeapEntries += 1
        let drainEnd = instance.exposedUntil
        var drainingHere = entry(key)?.draining ?? .empty
        if drainEnd > now {
            // A stand-in whose lease is the drain: every lookup and TTL rule then applies unchanged.
            let ghost = Instance(spec: instance.spec, deadline: drainEnd, registeredAt: instance.registeredAt,
                exposedUntil: drainEnd)
            if let old = draining.updateValue(ghost, forKey: id) {
                drainingHere = drainingHere.removing(old)
                staleHeapEntries += 1
            }
            drainingHere = drainingHere.inserting(ghost)
            heap.push(.init(deadline: drainEnd, instance: ghost))
        }
        let instances = (entry(key)?.instances ?? .empty).removing(instance)
        setEntry(key, instances: instances, draining: drainingHere)
        rebuildHeapIfMostlyStale()
        return (instance, key)
    }

    /// Removes instances whose lease ended at or before `now`, and drains that ended, at most
    /// `limit` heap entries at a time.
    ///
    /// Costs O(log n) per heap entry due, and nothing per lease not yet due, plus O(log n) per ended
    /// instance to take it out of its function's trees and one new entry per changed function, so
    /// a whole fleet ending at once costs O(fleet log fleet) rather than a rebuild per instance
    /// (O(fleet²) under the lock DNS readers wait on). `limit` bounds how many heap entries one call
    /// examines, so a wave of expirations is swept in slices between which readers run.
    package mutating func expire(now: Instant, limit: Int = .max) -> (expired: [Instance], changed: [FunctionKey]) {
        var expired: [Instance] = []
        var ended: [FunctionKey: [Instance]] = [:]
        var changed: [FunctionKey] = []
        var examined = 0
        while examined < limit, let top = heap.first, top.deadline <= now {
            examined += 1
            _ = heap.popFirst()
            let instance = top.instance
            let current = byID[instance.id] === instance
            let drainingGhost = !current && draining[instance.id] === instance
            guard current || drainingGhost else {
                staleHeapEntries = max(0, staleHeapEntries - 1)
                continue
            }
            let deadline = instance.deadline
            if deadline > now {
                heap.push(.init(deadline: deadline, instance: instance))  // renewed since queued
                continue
            }
            if drainingGhost {
                draining[instance.id] = nil
            } else {
                byID[instance.id] = nil
                expired.append(instance)
            }
            let key = FunctionKey(service: instance.spec.service, function: instance.spec.function)
            if ended[key] == nil { changed.append(key) }
            ended[key, default: []].append(instance)
        }
        for key in changed {
            let gone = ended[key] ?? []
            let current = entry(key)
            setEntry(
                key, instances: (current?.instances ?? .empty).removing(gone),
                draining: (current?.draining ?? .empty).removing(gone))
        }
        return (expired, changed)
    }

    /// The earliest deadline the heap knows, possibly of a renewed lease: a safe time to sweep next.
    package var nextSweep: Instant? { heap.first?.deadline }

    /// Heap entries, stale ones included (tests hold memory to the live table with it).
    package var heapCount: Int { heap.count }

    // MARK: - Lookups

    /// The live instance with `id`.
    package func instance(id: String, now: Instant) -> Instance? {
        guard let instance = byID[id], instance.isLive(at: now) else { return nil }
        return instance
    }

    package func entry(_ key: FunctionKey) -> FunctionEntry? { services[key.service]?[key.function] }

    package func entry(service: String, function: String) -> FunctionEntry? { services[service]?[function] }

    /// Moves the index up to at least `index` (recovery: past every index handed out before).
    package mutating func raiseIndex(atLeast index: UInt64) {
        lastIndex = max(lastIndex, index)
        freedIndex = max(freedIndex, index)
    }

    /// The index a watch on `key` compares with: the entry's, or for a function with no entry the
    /// index at which an entry was last freed (never lower than the function's last one).
    package func index(of key: FunctionKey) -> UInt64 { entry(key)?.index ?? freedIndex }

    /// Whether any function of `service` has a live instance (so `_tcp.S.<domain>` exists), or with
    /// `includingDraining` also a draining one (so `S.<domain>` exists above its name).
    package func serviceHasLive(_ service: String, now: Instant, includingDraining: Bool = false) -> Bool {
        services[service]?.values.contains { includingDraining ? $0.exists(at: now) : $0.hasLive(at: now) } ?? false
    }

    /// Every function entry: a consistent copy of the table, one pointer per function. Entries are
    /// immutable, so callers walk them after the lock is released.
    package var functionEntries: [FunctionEntry] {
        var entries: [FunctionEntry] = []
        entries.reserveCapacity(services.count)
        for functions in services.values { entries.append(contentsOf: functions.values) }
        return entries
    }

    /// Services and functions with live instances (tests; the server computes it outside the lock).
    package func summary(now: Instant) -> [LeaseSummary.Row] { LeaseSummary.of(functionEntries, now: now) }

    /// Every instance in the table, live or awaiting its sweep.
    package var allInstances: some Collection<Instance> { byID.values }

    /// How many live instances `key` holds; counted only near a limit, where it matters.
    package func liveCount(_ key: FunctionKey, now: Instant) -> Int {
        guard let instances = entry(key)?.instances else { return 0 }
        guard instances.count >= limits.maxInstancesPerFunction else { return instances.count }
        var live = 0
        instances.forEach { live += $0.isLive(at: now) ? 1 : 0 }
        return live
    }

    // MARK: - Internals

    private mutating func removeFromEntry(_ instance: Instance, key: FunctionKey) {
        let current = entry(key)
        setEntry(
            key, instances: (current?.instances ?? .empty).removing(instance),
            draining: (current?.draining ?? .empty).removing(instance))
    }

    private mutating func setEntry(_ key: FunctionKey, instances: InstanceTree, draining: InstanceTree) {
        lastIndex += 1
        if instances.isEmpty && draining.isEmpty {
            freedIndex = lastIndex
            services[key.service]?[key.function] = nil
            if services[key.service]?.isEmpty == true { services[key.service] = nil }
            return
        }
        services[key.service, default: [:]][key.function] = FunctionEntry(
            service: key.service, function: key.function, index: lastIndex, instances: instances, draining: draining)
    }

    /// Stale heap entries kept before a rebuild is considered. Each one holds its instance, meta and
    /// all (up to 64 strings of 255 bytes, about 22 KB): 64 of them are 1.4 MB at worst, where the
    /// 1,024 this once was let 8,000 re-registrations of one id grow RSS by 22 MiB.
    package static let staleHeapFloor = 64

    /// Drops stale heap entries once they outnumber the live ones, so memory follows the live table
    /// however often ids are replaced or deregistered. O(n), amortised over as many stale entries.
    private mutating func rebuildHeapIfMostlyStale() {
        guard staleHeapEntries > Self.staleHeapFloor, staleHeapEntries > byID.count + draining.count else { return }
        var rebuilt = ExpiryHeap()
        for instance in byID.values { rebuilt.push(.init(deadline: instance.deadline, instance: instance)) }
        for ghost in draining.values { rebuilt.push(.init(deadline: ghost.deadline, instance: ghost)) }
        heap = rebuilt
        staleHeapEntries = 0
    }
}

/// The one admission rule for a registration, shared by the table, recovery and the journal's
/// batch planner: the id's owner, then the table's and the function's limits.
package enum Admission {
    /// - Parameters:
    ///   - previous: the live instance with the same id, if any.
    ///   - hasID: whether the id is in the table at all (live or awaiting its sweep): such an id
    ///     does not add to the table's count.
    ///   - liveInFunction: the live instances of the spec's function, asked only when needed.
    package static func check(
        _ spec: InstanceSpec, previous: Instance?, allowedServices: Set<String>?, limits: LeaseLimits, tableCount: Int,
        hasID: Bool, liveInFunction: () -> Int
    ) throws(LeaseError) {
        if let previous, let allowedServices, !allowedServices.contains(previous.spec.service) {
            throw .ownedByAnotherService(id: spec.id, service: previous.spec.service)
        }
        if !hasID, tableCount >= limits.maxInstances { throw .tooManyInstances(limit: limits.maxInstances) }
        let sameFunction = previous.map { $0.spec.service == spec.service && $0.spec.function == spec.function } ?? false
        if !sameFunction, liveInFunction() >= limits.maxInstancesPerFunction {
            throw .tooManyInstancesInFunction(limit: limits.maxInstancesPerFunction)
        }
    }
}
