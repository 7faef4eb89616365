import HTTPWire
import Leases
import Primitives
import PosixIO
import Synchronization

/// A node's cover leases and renewal markers (`RenewalMarker`), on a thread of their own: granting a
/// cover and putting a marker are raft writes, which a loaded cluster can take 100 ms or more to
/// commit, and heartbeats answered at once never wait for them: they only `use` the current cover.
/// A heartbeat or registration that finds none young enough grants one itself, on its worker; those
/// wait for one grant between them (and, for a second after a grant failed, fail at once).
final class CoverLeases: Sendable {
    static let tickMilliseconds = 100

    private let epochs = Locked(MarkerEpochs())
    /// Held while a grant is in flight: callers that all found no cover wait for one grant, and
    /// learn when and why the last one failed (they then fail at once instead of each trying again).
    private let granting = Locked<(at: Instant, error: EtcdError)?>(nil)
    static let failureHoldNanoseconds: Int64 = 1_000_000_000
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

    /// The current cover for instances of `ttl`, with `renewing` (a create revision) recorded for its
    /// marker; nil when none is young enough (one is then granted soon).
    func use(instanceTTL ttl: UInt32, renewing created: Int64? = nil) -> MarkerEpochs.CoverUse? {
        let now = clock()
        guard let epoch = epochs.withLock({ $0.use(instanceTTL: ttl, renewing: created, now: now) }) else {
            wakeup.signal()
            return nil
        }
        return epoch
    }

    /// As `use`, but when no cover serves, grants one on the caller's connection first (a heartbeat
    /// or registration that found none: the first after a quiet spell, or while etcd is slow).
    func cover(instanceTTL ttl: UInt32, renewing created: Int64? = nil, _ connection: EtcdConnection)
        throws(EtcdError) -> MarkerEpochs.CoverUse
    {
        if let epoch = use(instanceTTL: ttl, renewing: created) { return epoch }
        try granting.withLock { failure throws(EtcdError) in
            if epochs.withLock({ $0.serves(instanceTTL: ttl, now: clock()) }) { return }
            if let held = recent(failure) { throw held }
            try grant(instanceTTL: ttl, connection, failure: &failure)
        }
        guard let epoch = use(instanceTTL: ttl, renewing: created) else {
            throw .unreachable("etcd: a cover lease for TTL \(ttl) was granted too slowly to serve")
        }
        return epoch
    }

    private func run() {
        let connection = EtcdConnection(ring: ring, timeoutMilliseconds: 3_000)
        while !stopping.load(ordering: .acquiring) {
            // Markers first: they must not wait behind a grant that etcd is slow to commit.
            for epoch in epochs.withLock({ $0.closeDone(now: clock()) }) { publish(epoch, connection) }
            for ttl in epochs.withLock({ $0.rotationsDue(now: clock()) }) {
                do throws(EtcdError) {
                    try granting.withLock { failure throws(EtcdError) in
                        // A caller may have granted one while this thread waited; after a failure,
                        // the next try waits a second too.
                        if epochs.withLock({ $0.isFresh(instanceTTL: ttl, now: clock()) }) { return }
                        if recent(failure) != nil { return }
                        try grant(instanceTTL: ttl, connection, failure: &failure)
                    }
                } catch {
                    log.debug("etcd: cover lease for TTL \(ttl) not granted: \(error)")
                }
            }
            for epoch in epochs.withLock({ $0.closeDone(now: clock()) }) { publish(epoch, connection) }
            wakeup.wait(milliseconds: Self.tickMilliseconds)
        }
    }

    /// The last grant's error while it is recent enough to answer for the next try.
    private func recent(_ failure: (at: Instant, error: EtcdError)?) -> EtcdError? {
        guard let failure, clock().nanoseconds - failure.at.nanoseconds < Self.failureHoldNanoseconds else { return nil }
        return failure.error
    }

    /// With the grant lock held (`failure` is what it guards).
    private func grant(
        instanceTTL ttl: UInt32, _ connection: EtcdConnection, failure: inout (at: Instant, error: EtcdError)?
    ) throws(EtcdError) {
        let sentAt = clock()
        do throws(EtcdError) {
            let granted = try EtcdReply.grant(try connection.call("/v3/lease/grant", EtcdRequest.grant(ttl: ttl)))
            metrics.coverLeasesGranted.add(1, ordering: .relaxed)
            epochs.withLock { $0.start(instanceTTL: ttl, cover: granted.id, grantedTTL: granted.ttl, grantSentAt: sentAt) }
            failure = nil
        } catch {
            metrics.markerFailures.add(1, ordering: .relaxed)
            failure = (clock(), error)
            throw error
        }
    }

    /// Puts the marker of a closed epoch, attached to its cover lease (so it goes when the lease does).
    private func publish(_ epoch: MarkerEpochs.Epoch, _ connection: EtcdConnection) {
        let request = EtcdRequest.plainPut(
            key: RenewalMarker.key(node: node, ttl: epoch.ttl, cover: epoch.cover), value: RenewalMarker.encode(epoch.renewed),
            lease: epoch.cover)
        do throws(EtcdError) {
            let revision = try EtcdReply.revision(try connection.call("/v3/kv/put", request))
            metrics.markersPublished.add(1, ordering: .relaxed)
            metrics.lag.wrote(revision: revision, at: clock())
        } catch {
            // Other nodes then drop these instances at their older deadlines, and this node's own
            // deadlines outlive the marker only as long as the cover, which etcd holds anyway.
            metrics.markerFailures.add(1, ordering: .relaxed)
            log.debug("etcd: renewal marker for \(epoch.renewed.count) instances not published: \(error)")
        }
    }
}
