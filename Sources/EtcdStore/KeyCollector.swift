import Leases
import Primitives
import PosixIO
import Synchronization

/// Deletes the keys of instances that ended: instance keys carry no lease (covers vouch for them,
/// `RenewalMarker`), so etcd never removes them by itself.
///
/// Every `tickMilliseconds`, while the mirror follows its watch, this thread looks for records that
/// have no live instance in the table and that nothing (a put, a marker) has vouched for during
/// `grace(ttl:)` (`Mirror.collectable`), and deletes each key with a transaction that holds only
/// while its `mod_revision` is the one mirrored, so that a registration made meanwhile wins. Going by
/// the last voucher rather than by the local deadline keeps the keys of instances this node does not
/// answer for but others renew: short TTLs (whose deadlines reach other nodes already past) and
/// instances this node's limits refused. Every node collects; the first delete wins, and its event
/// removes the record from the others before their own grace ends (their graces differ by a random
/// part).
package final class KeyCollector: Sendable {
    private let mirror: Mirror
    private let ring: EndpointRing
    private let status: StoreStatus
    private let metrics: EtcdMetrics
    private let log: Log
    private let clock: @Sendable () -> Instant
    private let stopping = Atomic<Bool>(false)
    private let handle = Locked<ThreadHandle?>(nil)
    /// This node's share of the grace, so that the nodes do not all delete the same key at once.
    private let jitterNanoseconds = Int64.random(in: 0..<5_000_000_000)

    static let tickMilliseconds = 1_000
    /// Records looked up per hold of the mirror's and the registry's locks (heartbeats and DNS wait on them).
    static let scanSlice = 2_048

    /// How long an instance must have been gone from the table before its key is deleted.
    package static func grace(ttl: UInt32) -> Int64 { max(10_000_000_000, Int64(ttl) * 1_000_000_000) }

    init(
        mirror: Mirror, ring: EndpointRing, status: StoreStatus, metrics: EtcdMetrics, log: Log,
        clock: @escaping @Sendable () -> Instant
    ) {
        self.mirror = mirror
        self.ring = ring
        self.status = status
        self.metrics = metrics
        self.log = log
        self.clock = clock
    }

    func start() {
        let thread = Threads.start(name: "beacon-etcd-collect") { [self] in run() }
        handle.withLock { $0 = thread }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        handle.withLock { $0 }?.join()
    }

    private func run() {
        let connection = EtcdConnection(ring: ring, timeoutMilliseconds: 2_000)
        while !stopping.load(ordering: .acquiring) {
            Posix.sleep(milliseconds: Self.tickMilliseconds)
            guard status.current == nil else { continue }
            for candidate in mirror.collectable(now: clock(), jitter: jitterNanoseconds) {
                if stopping.load(ordering: .relaxed) { break }
                // Another node may have deleted it (or a marker vouched for it) since the scan.
                guard mirror.isCollectable(candidate, now: clock(), jitter: jitterNanoseconds) else { continue }
                do throws(EtcdError) {
                    let request = EtcdRequest.deleteIfUnchanged(SpecCodec.key(id: candidate.id), revision: candidate.revision)
                    let reply = try EtcdReply.txn(try connection.call("/v3/kv/txn", request))
                    guard reply.succeeded else { continue }
                    metrics.keysCollected.add(1, ordering: .relaxed)
                    mirror.applyDelete(id: candidate.id, revision: reply.revision, origin: .local, now: clock())
                } catch {
                    log.debug("etcd: deleting the key of ended instance \(candidate.id) failed: \(error)")
                    break
                }
            }
        }
    }

    package struct Candidate: Equatable, Sendable {
        package var id: String
        package var revision: Int64
        package var ttl: UInt32

        package init(id: String, revision: Int64, ttl: UInt32) {
            self.id = id
            self.revision = revision
            self.ttl = ttl
        }
    }
}
