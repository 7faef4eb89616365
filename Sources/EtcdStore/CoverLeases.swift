import HTTPWire
import Leases
import Primitives
import PosixIO
import Synchronization

/// A node's cover leases and renewal markers (`RenewalMarker`), on a thread of their own: granting a
/// cover and putting a marker are raft writes, which a loaded cluster can take 100 ms or more to
/// commit, and heartbeats waiting for a keep-alive must not wait behind them. Keep-alives and
/// registrations only `use` the current cover and `record` what was renewed under it.
final class CoverLeases: Sendable {
    static let tickMilliseconds = 100

    private let epochs = Locked(MarkerEpochs())
    private let wakeup: Wakeup
    private let ring: EndpointRing
    private let node: String
    private let metrics: EtcdMetrics
    private let log: Log
    private let clock: @Sendable () -> Instant
    private let stopping = Atomic<Bool>(false)
    private let handle = Locked<ThreadHandle?>(nil)

    init(ring: EndpointRing, node: String, metrics: EtcdMetrics, log: Log, clock: @escaping @Sendable () -> Instant)
        throws(SystemCallError)
    {
        wakeup = try Wakeup()
        self.ring = ring
        self.node = node
        self.metrics = metrics
        self.log = log
        self.clock = clock
    }

    func start() {
        let thread = Threads.start(name: "beacon-etcd-covers") { [self] in run() }
        handle.withLock { $0 = thread }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        handle.withLock { $0 }?.join()
    }

    /// The cover lease for instances of `ttl`; nil when none is current (one is then granted soon).
    func use(instanceTTL ttl: UInt32) -> Int64? {
        let now = clock()
        guard let cover = epochs.withLock({ $0.use(instanceTTL: ttl, now: now) }) else {
            if RenewalMarker.coverTTL(forInstanceTTL: ttl) != nil { wakeup.signal() }
            return nil
        }
        return cover
    }

    /// Grants a cover lease for `ttl` on the caller's connection, for a keep-alive batch that found
    /// none current and has no heartbeat waiting on it (a node with little traffic: covers lapse
    /// between its keep-alives).
    func grantNow(instanceTTL ttl: UInt32, _ connection: EtcdConnection) -> Int64? {
        grant(instanceTTL: ttl, connection)
    }

    /// A keep-alive of `lease` sent under `cover` was confirmed.
    func record(cover: Int64, renewed lease: Int64) {
        epochs.withLock { $0.record(cover: cover, renewed: lease) }
    }

    private func run() {
        let connection = EtcdConnection(ring: ring, timeoutMilliseconds: 3_000)
        while !stopping.load(ordering: .acquiring) {
            for ttl in epochs.withLock({ $0.rotationsDue(now: clock()) }) { grant(instanceTTL: ttl, connection) }
            for epoch in epochs.withLock({ $0.closeSettled(now: clock()) }) { publish(epoch, connection) }
            wakeup.wait(milliseconds: Self.tickMilliseconds)
        }
    }

    @discardableResult
    private func grant(instanceTTL ttl: UInt32, _ connection: EtcdConnection) -> Int64? {
        guard let coverTTL = RenewalMarker.coverTTL(forInstanceTTL: ttl) else { return nil }
        let sentAt = clock()
        do throws(EtcdError) {
            let granted = try EtcdReply.grant(try connection.call("/v3/lease/grant", EtcdRequest.grant(ttl: coverTTL)))
            metrics.coverLeasesGranted.add(1, ordering: .relaxed)
            epochs.withLock { $0.start(instanceTTL: ttl, cover: granted.id, grantSentAt: sentAt) }
            return granted.id
        } catch {
            metrics.markerFailures.add(1, ordering: .relaxed)
            log.debug("etcd: cover lease for TTL \(ttl) not granted: \(error)")
            return nil
        }
    }

    /// Puts the marker of a settled epoch, attached to its cover lease (so it goes when the lease does).
    private func publish(_ epoch: MarkerEpochs.Epoch, _ connection: EtcdConnection) {
        let request = EtcdRequest.plainPut(
            key: RenewalMarker.key(node: node, ttl: epoch.ttl), value: RenewalMarker.encode(epoch.renewed),
            lease: epoch.cover)
        do throws(EtcdError) {
            let revision = try EtcdReply.revision(try connection.call("/v3/kv/put", request))
            metrics.markersPublished.add(1, ordering: .relaxed)
            metrics.lag.wrote(revision: revision, at: clock())
        } catch {
            // Other nodes fall back to reading these leases near their deadlines.
            metrics.markerFailures.add(1, ordering: .relaxed)
            log.debug("etcd: renewal marker for \(epoch.renewed.count) leases not published: \(error)")
        }
    }
}
