// EtcdStore: the registration table kept in an etcd cluster shared by several Beacon nodes
// (`beacon serve --store etcd://A,B,C`), through etcd's v3 JSON gateway, with our own HTTP client.
// No Foundation: PosixIO, Clients and HTTPWire only.
//
// Design
// - Each instance is the key `/beacon/v1/instances/<id>`, its value the spec as JSON. Register = one
//   put; deregister = one delete. The key carries no lease: its life is vouched for by *cover leases*
//   (`RenewalMarker`), a few etcd leases per node rather than one per instance, so that heartbeats
//   cost etcd nothing each (issue 19: 100,000 instances through three nodes on a 2-core machine).
// - Every node mirrors the prefix into its in-memory `Registry` (`Mirror`, `MirrorSync`): a full
//   read, then one watch from the next revision. DNS answers only from that registry and never wait
//   on etcd. A lost, cancelled or compacted watch, or a member that fails the liveness probe, leads
//   to a full re-read that reconciles the mirror (`Reconcile`: pure) and a new watch, on the next
//   member. Any node accepts writes, and heartbeats for any instance.
// - etcd calls are blocking and run on a few worker threads (`WorkerPool`); the HTTP loop passes a
//   completion and gets its answer from the worker.
//
// Deadlines and the TTL rule
// DNS TTLs come from local deadlines (`TTLPolicy`), so the rule "no cache serves an instance past
// its lease" holds if every local deadline is no later than an etcd lease that vouches for it.
// - A registration's value names the node's current cover lease (of the instance's TTL, granted
//   a moment before); a heartbeat is answered at once under that node's current cover, which is
//   recorded for its renewal marker. Either way the deadline is the cover's end measured from before
//   its grant was sent (`LeaseClock`): no later than etcd's, and short of the full TTL by the cover's
//   age (about an epoch, half a second, while covers rotate; at most a quarter of the TTL or 2 s).
// - Other nodes learn a registration from its put and a heartbeat from the marker, read the cover's
//   remaining time once (etcd rounds it down) and extend the instance to it: their deadlines sit a
//   moment short of the writing node's, never later. A full read after a gap takes the live markers
//   with the keys, so a node that missed events still ends up with the latest cover that vouches.
// - An instance no live cover vouches for is swept from every node's table when its deadline passes;
//   its key is deleted after a grace by `KeyCollector`. A heartbeat for it answers 404, unless
//   something vouched for it less than a TTL ago (a node learns others' renewals a moment late and
//   rounded down to whole seconds: too coarse for TTLs of a second or two).
// - A node answers heartbeats only under a cover granted at most a quarter of the TTL ago (two
//   seconds for TTLs of 8 s and more): when etcd stops granting, heartbeats answer 503 and answers
//   drain out as the covers end. A node that stops or loses etcd before its marker went out leaves
//   the other nodes with their older deadlines: they stop answering up to a TTL earlier than the
//   reply implied (never later).
// - The function index does not rise on heartbeats; markers live under `/beacon/v1/renewals/`,
//   outside the instance keys, and vanish with their cover leases.
// When etcd is unreachable no cover is granted, so once the current one is too old to serve nothing
// extends a deadline and answers drain out as the covers end; mutations complete with
// `.unavailable` (HTTP 503) and `unavailableReason` is set (healthz 503) until the mirror follows a
// watch again.
//
// Consistency
// etcd is the single source of truth and its revisions order everything. A node's own writes are
// applied to its mirror when etcd acknowledges them (read-your-writes on that node) and the watch
// brings every write to every node in revision order; `Mirror` uses revisions so the two paths never
// undo each other, and a re-read after any gap restores exactly etcd's state. Nodes converge to etcd
// within one watch delivery; DNS answers are as stale as the mirror, never staler than a lease.
// `drain` is per node (from the `Instance` exposure on the node that handled the DELETE): answers
// other nodes gave out are not counted.
import Leases
import PosixIO
import Synchronization
import TLS

/// `RegistrationStore` backed by etcd; see the module comment for the design.
package final class EtcdStore: RegistrationStore {
    package let registry: Registry
    package let mirror: Mirror
    /// The health of the link to etcd, for `/metrics`.
    package let metrics: EtcdMetrics
    /// This node's name in renewal-marker keys: random per process.
    package let node: String
    private let ring: EndpointRing
    private let status = StoreStatus()
    private let workers: WorkerPool
    private let sync: MirrorSync
    private let collector: KeyCollector
    private let covers: CoverLeases
    private let clock: @Sendable () -> Instant
    private let log: Log

    /// - Parameters:
    ///   - tls: for `etcds://`: the CA that verifies the members, and the client certificate.
    ///   - hosts: each endpoint's host as written, which its certificate must name (default: the address).
    package init(
        endpoints: [SocketAddress], registry: Registry, log: Log, clock: @escaping @Sendable () -> Instant,
        workers: Int = 16, tls: TLSClientContext? = nil, hosts: [String]? = nil
    ) throws(SystemCallError) {
        self.registry = registry
        self.clock = clock
        self.log = log
        ring = EndpointRing(endpoints, tls: tls, hosts: hosts)
        mirror = Mirror(registry: registry, log: log)
        metrics = EtcdMetrics(endpoints: endpoints.map(\.description))
        node = String(UInt64.random(in: .min ... .max), radix: 16)
        self.workers = try WorkerPool(count: workers, ring: ring)
        sync = MirrorSync(mirror: mirror, ring: ring, status: status, node: node, metrics: metrics, log: log, clock: clock)
        collector = KeyCollector(mirror: mirror, ring: ring, status: status, metrics: metrics, log: log, clock: clock)
        covers = try CoverLeases(ring: ring, node: node, metrics: metrics, log: log, clock: clock)
    }

    /// Starts the threads and waits up to `waitMilliseconds` for the first full read, so that a node
    /// joining a running cluster answers for everything from its first query when etcd is up.
    /// - Returns: whether the first read finished in time (if not, the node serves and keeps trying).
    @discardableResult
    package func start(waitMilliseconds: Int = 3_000) -> Bool {
        workers.start()
        sync.start()
        covers.start()
        collector.start()
        var waited = 0
        while sync.syncs == 0 && waited < waitMilliseconds {
            Posix.sleep(milliseconds: 10)
            waited += 10
        }
        if sync.syncs == 0 { log.warning("etcd: no member of \(ring.listing) answered yet; serving an empty mirror") }
        return sync.syncs > 0
    }

    package func close() { stop() }

    package func stop() {
        sync.stop()
        collector.stop()
        covers.stop()
        workers.stop()
    }

    package var unavailableReason: String? { status.current }

    // MARK: - Mutations

    /// The owner check runs against this node's mirror, on the worker that serialises writes to
    /// this id: it holds for writes through one node; between nodes a replacement racing within
    /// one watch delivery is not caught (etcd keeps no owner to compare with).
    package func register(
        _ spec: InstanceSpec, allowedServices: Set<String>?,
        completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void
    ) {
        workers.submit(key: spec.id) { [self] etcd in
            if let allowedServices, let owner = registry.instance(id: spec.id, now: clock()),
                !allowedServices.contains(owner.spec.service)
            {
                completion(.failure(.lease(.ownedByAnotherService(id: spec.id, service: owner.spec.service))))
                return
            }
            completion(Self.storeResult { () throws(StoreFailure) in try register(spec, etcd) })
        }
    }

    /// A heartbeat the node cannot answer at once: no cover is young enough (one is granted first),
    /// the mirror does not know the id yet (its key is read from etcd first), or the instance is not
    /// live here but something vouched for it less than a TTL ago (`Mirror.vouchedRecently`).
    package func renew(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        workers.submit(key: id) { [self] etcd in
            let result = Self.storeResult { () throws(StoreFailure) in
                if mirror.record(id: id) == nil { _ = try read(id, etcd) }
                // Live here, or not live here but possibly still alive in etcd (a renewal this node
                // learned too coarsely or too late): either way renewed under this node's cover.
                guard let record = renewable(id)?.0 ?? mirror.vouchedRecently(id: id, now: clock()),
                    let spec = record.spec
                else { throw .lease(.unknownInstance(id)) }
                let epoch = try step { () throws(EtcdError) in
                    try covers.cover(instanceTTL: spec.ttl, renewing: record.created, etcd)
                }
                guard let instance = mirror.reinstate(id: id, created: record.created, deadline: epoch.deadline, now: clock())
                else { throw .lease(.unknownInstance(id)) }
                return instance
            }
            if case .success = result {
                metrics.heartbeatsWaited.add(1, ordering: .relaxed)
                registry.counters.heartbeats.add(1, ordering: .relaxed)
            }
            completion(result)
        }
    }

    /// Answers a heartbeat under this node's current cover lease, which the heartbeat's marker will
    /// name; nil sends it down `renew(id:completion:)` (no cover young enough, or an id this node
    /// does not hold live).
    package func renewImmediately(id: String) -> Result<Instance, StoreError>? {
        guard let (record, instance) = renewable(id),
            let epoch = covers.use(instanceTTL: instance.spec.ttl, renewing: record.created)
        else { return nil }
        instance.extendDeadline(to: epoch.deadline)
        metrics.heartbeatsAnsweredAtOnce.add(1, ordering: .relaxed)
        registry.counters.heartbeats.add(1, ordering: .relaxed)
        return .success(instance)
    }

    /// The record and the instance in the table behind `id`, if the instance is live (the sweep may
    /// lag behind its deadline) and is the registration the record holds (not one being replaced).
    private func renewable(_ id: String) -> (MirrorRecord, Instance)? {
        guard let record = mirror.record(id: id), let instance = registry.read({ $0.byID[id] }),
            instance.deadline > clock(), instance.spec == record.spec
        else { return nil }
        return (record, instance)
    }

    package func deregister(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        workers.submit(key: id) { [self] etcd in
            completion(Self.storeResult { () throws(StoreFailure) in try deregister(id, etcd) })
        }
    }

    /// Put (naming the current cover lease), then apply to the mirror before answering.
    private func register(_ spec: InstanceSpec, _ etcd: EtcdConnection) throws(StoreFailure) -> Instance {
        let epoch = try step { () throws(EtcdError) in try covers.cover(instanceTTL: spec.ttl, etcd) }
        let put = try step { () throws(EtcdError) in
            let request = EtcdRequest.put(key: SpecCodec.key(id: spec.id), value: SpecCodec.encode(spec, cover: epoch.cover))
            return try EtcdReply.put(try etcd.call("/v3/kv/put", request))
        }
        let now = clock()
        metrics.lag.wrote(revision: put.revision, at: now)
        do throws(LeaseError) {
            let applied = try mirror.applyPut(
                spec, created: put.createRevision, revision: put.revision, deadline: epoch.deadline, origin: .local,
                now: now)
            return applied ?? Instance(spec: spec, deadline: epoch.deadline, registeredAt: now)
        } catch {
            // The table refused it (instance limits): take it back out of etcd.
            deleteQuietly(spec.id, revision: put.revision, etcd)
            throw .lease(error)
        }
    }

    /// Reads one instance key and applies it to the mirror as a local write (skipped if the watch has
    /// already passed it), alive until the cover its value names ends. Nil when etcd has no such key.
    private func read(_ id: String, _ etcd: EtcdConnection) throws(StoreFailure) -> MirrorRecord? {
        let range = try step { () throws(EtcdError) in
            try EtcdReply.range(try etcd.call("/v3/kv/range", EtcdRequest.key(SpecCodec.key(id: id))))
        }
        guard let kv = range.kvs.first, case .success(let (spec, cover)) = SpecCodec.decodeWithCover(kv.value, id: id)
        else { return nil }
        var deadline = Instant.zero
        if let cover {
            var covers = CoverDeadlines()
            deadline = try step { () throws(EtcdError) in
                try covers.deadline(of: cover, ttl: spec.ttl, etcd, metrics: metrics, clock: clock)
            } ?? .zero
        }
        _ = try? mirror.applyPut(
            spec, created: kv.createRevision, revision: kv.modRevision, deadline: deadline, origin: .local, now: clock())
        return MirrorRecord(revision: kv.modRevision, created: kv.createRevision, spec: spec)
    }

    /// Delete; the drain comes from this node's exposure of the instance.
    /// The key is deleted whether or not the mirror knows the id yet: etcd says whether it existed.
    private func deregister(_ id: String, _ etcd: EtcdConnection) throws(StoreFailure) -> Instance {
        // Taken before the delete: the stream may remove it from the table before our reply is read.
        let instance = registry.read { $0.byID[id] }
        let reply = try step { () throws(EtcdError) in
            try EtcdReply.delete(try etcd.call("/v3/kv/deleterange", EtcdRequest.deleteKey(SpecCodec.key(id: id))))
        }
        mirror.applyDelete(id: id, revision: reply.revision, origin: .local, now: clock())
        metrics.lag.wrote(revision: reply.revision, at: clock())
        guard let deleted = reply.deleted else { throw .lease(.unknownInstance(id)) }
        if let instance { return instance }
        // Not in this node's table (not mirrored yet, or swept): nothing went out from here, so no drain.
        guard case .success(let spec) = SpecCodec.decode(deleted.value, id: id) else {
            throw .lease(.unknownInstance(id))
        }
        let now = clock()
        return Instance(spec: spec, deadline: now, registeredAt: now)
    }

    private func deleteQuietly(_ id: String, revision: Int64, _ etcd: EtcdConnection) {
        do throws(EtcdError) {
            _ = try etcd.call("/v3/kv/txn", EtcdRequest.deleteIfUnchanged(SpecCodec.key(id: id), revision: revision))
        } catch {
            log.warning("etcd: taking back \(id) failed (its key is collected once its cover ends): \(error)")
        }
    }

    private func step<T>(_ body: () throws(EtcdError) -> T) throws(StoreFailure) -> T {
        do throws(EtcdError) {
            return try body()
        } catch {
            throw .etcd(error)
        }
    }

    private enum StoreFailure: Error {
        case etcd(EtcdError)
        case lease(LeaseError)
    }

    private static func storeResult(_ body: () throws(StoreFailure) -> Instance) -> Result<Instance, StoreError> {
        do throws(StoreFailure) {
            return .success(try body())
        } catch {
            switch error {
            case .lease(let lease): return .failure(.lease(lease))
            case .etcd(let etcd):
                let text = etcd.description
                return .failure(.unavailable(text.hasPrefix("etcd: ") ? text : "etcd: \(text)"))
            }
        }
    }
}
