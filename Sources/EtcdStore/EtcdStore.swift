// EtcdStore: the registration table kept in an etcd cluster shared by several Beacon nodes
// (`beacon serve --store etcd://A,B,C`), through etcd's v3 JSON gateway, with our own HTTP client.
// No Foundation: PosixIO, Clients and HTTPWire only.
//
// Design
// - Each instance is the key `/beacon/v1/instances/<id>`, its value the spec as JSON, bound to an
//   etcd lease of the instance's TTL. Register = grant + put (the old lease, from the put's
//   `prev_kv`, is revoked); heartbeat = lease keep-alive; deregister = delete + revoke.
// - Every node mirrors the prefix into its in-memory `Registry` (`Mirror`, `MirrorSync`): a full
//   read, then one watch from the next revision. DNS answers only from that registry and never wait
//   on etcd. A lost, cancelled or compacted watch, or a member that fails the liveness probe, leads
//   to a full re-read that reconciles the mirror (`Reconcile`: pure) and a new watch, on the next
//   member. Any node accepts writes; the lease id behind every id is in every node's mirror, so a
//   heartbeat works through any node (one that has not seen the id yet reads its key from etcd).
// - etcd calls are blocking and run on a few worker threads (`WorkerPool`); the HTTP loop passes a
//   completion and gets its answer from the worker.
//
// Deadlines and the TTL rule
// DNS TTLs come from local deadlines (`TTLPolicy`), so the rule "no cache serves an instance past
// its lease" holds if every local deadline is no later than the real etcd lease. `LeaseClock` makes
// each deadline from a monotonic time read *before* the request that reported the lease, plus etcd's
// figure (whole seconds, rounded down by etcd): never later than the lease (which ends earlier only
// when revoked, and a revocation reaches every node as a delete event).
//
// Heartbeats (issue 19): a heartbeat is a lease keep-alive, but not one round trip each.
// - `KeepAliveSender` sends keep-alives in batches, one `/v3/lease/keepalive` request holding many
//   leases, on one connection to the leader: etcd's cost per renewal drops about twentyfold.
// - A heartbeat is answered at once while the node's deadline leaves half the TTL
//   (`LeaseClock.answersAtOnce`): the lease is then certain to outlive the reply by half a TTL, and
//   the keep-alive the heartbeat is owed goes out later, shared with the heartbeats that follow
//   (`RenewalQueue`, `LeaseClock.renewalLead`), before the lease could end for any node. Closer to
//   the deadline (or after a failed request) the reply waits for a keep-alive sent after the
//   heartbeat arrived, and is a 503 when it fails. The one difference from a keep-alive per
//   heartbeat: if this node stops or loses etcd before the owed keep-alive, the lease ends up to
//   half a TTL earlier than the reply implied (never later).
// - Renewals produce no watch event. Instead of polling `/v3/lease/timetolive` per lease (0.5 ms
//   of etcd CPU each), a node publishes every half second which leases it renewed, in a key
//   attached to a *cover lease* granted before those keep-alives (`RenewalMarker`); other nodes
//   read the cover lease once and extend every listed instance to its end, which no listed lease
//   ends before. A registration names the current cover lease in its value, so other nodes mirror
//   it without reading its lease either. `LeaseRefresher` still reads single leases whose deadline
//   comes close without a marker (a watch gap, TTLs under 5 s, older nodes).
// - The function index does not rise on heartbeats; markers live under `/beacon/v1/renewals/`,
//   outside the instance keys, and vanish with their cover leases.
// Non-writing nodes learn a renewal up to a marker epoch late and their deadlines sit a few seconds
// short of the lease (the cover margin and etcd's rounding): their answers carry shorter TTLs,
// never longer.
// When etcd is unreachable nothing extends a deadline, so answers drain out exactly as the leases
// could; mutations complete with `.unavailable` (HTTP 503) and `unavailableReason` is set (healthz
// 503) until the mirror follows a watch again.
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
    private let refresher: LeaseRefresher
    private let keepAlives: KeepAliveSender
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
        refresher = LeaseRefresher(mirror: mirror, ring: ring, metrics: metrics, log: log, clock: clock)
        covers = try CoverLeases(ring: ring, node: node, metrics: metrics, log: log, clock: clock)
        keepAlives = try KeepAliveSender(mirror: mirror, ring: ring, covers: covers, metrics: metrics, log: log, clock: clock)
    }

    /// Starts the threads and waits up to `waitMilliseconds` for the first full read, so that a node
    /// joining a running cluster answers for everything from its first query when etcd is up.
    /// - Returns: whether the first read finished in time (if not, the node serves and keeps trying).
    @discardableResult
    package func start(waitMilliseconds: Int = 3_000) -> Bool {
        workers.start()
        sync.start()
        refresher.start()
        covers.start()
        keepAlives.start()
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
        refresher.stop()
        keepAlives.stop()
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

    /// A heartbeat the node cannot answer at once: it waits for a keep-alive sent after it arrived.
    /// An id the mirror does not know yet is read from etcd first, on a worker.
    package func renew(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        let counted: @Sendable (Result<Instance, StoreError>) -> Void = { [registry] result in
            if case .success = result { registry.counters.heartbeats.add(1, ordering: .relaxed) }
            completion(result)
        }
        if let entry = renewalEntry(id: id) {
            metrics.heartbeatsWaited.add(1, ordering: .relaxed)
            keepAlives.wait(entry, counted)
            return
        }
        workers.submit(key: id) { [self] etcd in
            let record: MirrorRecord?
            do throws(StoreFailure) {
                record = try read(id, etcd)
            } catch {
                counted(Self.storeResult { () throws(StoreFailure) in throw error })
                return
            }
            guard let record, let spec = record.spec else {
                counted(.failure(.lease(.unknownInstance(id))))
                return
            }
            metrics.heartbeatsWaited.add(1, ordering: .relaxed)
            keepAlives.wait(RenewalQueue.Entry(id: id, lease: record.lease, ttl: spec.ttl), counted)
        }
    }

    /// Answers a heartbeat from the confirmation this node holds, when it leaves at least half the
    /// TTL and keep-alives are going through; the keep-alive it is owed goes out later. Nil sends the
    /// heartbeat down `renew(id:completion:)`.
    package func renewImmediately(id: String) -> Result<Instance, StoreError>? {
        guard status.current == nil, !keepAlives.isFailing, let entry = renewalEntry(id: id),
            let instance = registry.read({ $0.byID[id] })
        else { return nil }
        let deadline = instance.deadline
        guard LeaseClock.answersAtOnce(deadline: deadline, now: clock(), ttl: entry.ttl) else { return nil }
        keepAlives.owe(entry, deadline: deadline)
        metrics.heartbeatsAnsweredAtOnce.add(1, ordering: .relaxed)
        registry.counters.heartbeats.add(1, ordering: .relaxed)
        return .success(instance)
    }

    /// The lease behind `id` per this node's mirror.
    private func renewalEntry(id: String) -> RenewalQueue.Entry? {
        guard let record = mirror.record(id: id), let spec = record.spec else { return nil }
        return RenewalQueue.Entry(id: id, lease: record.lease, ttl: spec.ttl)
    }

    package func deregister(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        workers.submit(key: id) { [self] etcd in
            completion(Self.storeResult { () throws(StoreFailure) in try deregister(id, etcd) })
        }
    }

    /// Grant, put, revoke what the put replaced, then apply to the mirror before answering. The value
    /// names the cover lease current before the grant was sent, for the other nodes (`RenewalMarker`).
    private func register(_ spec: InstanceSpec, _ etcd: EtcdConnection) throws(StoreFailure) -> Instance {
        let cover = covers.use(instanceTTL: spec.ttl)
        let sentAt = clock()
        let lease = try step { () throws(EtcdError) in
            try EtcdReply.grant(try etcd.call("/v3/lease/grant", EtcdRequest.grant(ttl: spec.ttl)))
        }
        let put: (revision: Int64, previousLease: Int64)
        do throws(EtcdError) {
            let request = EtcdRequest.put(
                key: SpecCodec.key(id: spec.id), value: SpecCodec.encode(spec, cover: cover), lease: lease.id)
            put = try EtcdReply.put(try etcd.call("/v3/kv/put", request))
        } catch {
            revokeQuietly(lease.id, etcd)
            throw .etcd(error)
        }
        if put.previousLease != 0 && put.previousLease != lease.id { revokeQuietly(put.previousLease, etcd) }
        let deadline = LeaseClock.deadline(sentAt: sentAt, renewedTTL: lease.ttl, specTTL: spec.ttl)
        let now = clock()
        metrics.lag.wrote(revision: put.revision, at: now)
        do throws(LeaseError) {
            let applied = try mirror.applyPut(
                spec, lease: lease.id, revision: put.revision, deadline: deadline, origin: .local, now: now)
            return applied ?? Instance(spec: spec, deadline: deadline, registeredAt: now)
        } catch {
            // The table refused it (instance limits): take it back out of etcd.
            revokeQuietly(lease.id, etcd)
            throw .lease(error)
        }
    }

    /// Reads one instance key and applies it to the mirror as a local write (skipped if the watch has
    /// already passed it). Nil when etcd has no such key.
    private func read(_ id: String, _ etcd: EtcdConnection) throws(StoreFailure) -> MirrorRecord? {
        let range = try step { () throws(EtcdError) in
            try EtcdReply.range(try etcd.call("/v3/kv/range", EtcdRequest.key(SpecCodec.key(id: id))))
        }
        guard let kv = range.kvs.first, kv.lease != 0, case .success(let spec) = SpecCodec.decode(kv.value, id: id)
        else { return nil }
        metrics.leaseLookups.add(1, ordering: .relaxed)
        let deadline = try step { () throws(EtcdError) in
            try MirrorSync.leaseDeadline(kv.lease, specTTL: spec.ttl, etcd, clock: clock)
        }
        _ = try? mirror.applyPut(
            spec, lease: kv.lease, revision: kv.modRevision, deadline: deadline, origin: .local, now: clock())
        return MirrorRecord(revision: kv.modRevision, lease: kv.lease, spec: spec)
    }

    /// Delete, then revoke the lease; the drain comes from this node's exposure of the instance.
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
        if deleted.lease != 0 { revokeQuietly(deleted.lease, etcd) }
        if let instance { return instance }
        // Not in this node's table (not mirrored yet, or swept): nothing went out from here, so no drain.
        guard case .success(let spec) = SpecCodec.decode(deleted.value, id: id) else {
            throw .lease(.unknownInstance(id))
        }
        let now = clock()
        return Instance(spec: spec, deadline: now, registeredAt: now)
    }

    private func revokeQuietly(_ lease: Int64, _ etcd: EtcdConnection) {
        do throws(EtcdError) {
            _ = try etcd.call("/v3/lease/revoke", EtcdRequest.lease(lease))
        } catch {
            if !error.isLeaseNotFound { log.warning("etcd: revoking lease \(lease) failed (it will lapse): \(error)") }
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
