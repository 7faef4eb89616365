import HTTPWire
import Leases
import Primitives
import PosixIO
import Synchronization

/// The threads that renew leases for the heartbeats this node takes (issue 19).
///
/// Heartbeats never make their own round trip: they join a `RenewalQueue`, and two threads send
/// what is due, each as one `/v3/lease/keepalive` request holding every lease (newline-delimited
/// messages: etcd 3.4's gateway is not full duplex over HTTP/1.1, so a request per batch is the
/// stream it offers), on connections to the etcd leader (a follower forwards every renewal to
/// the leader, one HTTP call each). One thread sends only for heartbeats waiting on a reply, so that
/// they never queue behind a large batch of owed keep-alives, which the other sends. A batch of 1,000 costs the leader about 25 us per lease, where
/// one request per heartbeat cost 0.5 ms. Each keep-alive goes under the current cover lease, and
/// what etcd confirmed is recorded for the renewal markers other nodes learn renewals from
/// (`CoverLeases`, `RenewalMarker`).
final class KeepAliveSender: Sendable {
    /// Leases per request: at about 80 us of etcd CPU each, a request takes a leader 0.1 s, and one
    /// that is starved for CPU still answers within the timeout below (4,096 timed out at 3 s and were
    /// sent again, through followers, which made it worse).
    static let batchLimit = 1_000
    /// Long enough for a slow leader to answer a whole batch: a batch given up is work etcd has done
    /// for nothing, and tried again elsewhere.
    static let timeoutMilliseconds = 8_000
    static let retryNanoseconds: Int64 = 500_000_000
    static let leaderCheckNanoseconds: Int64 = 10_000_000_000
    private enum Lane: Sendable {
        /// Heartbeats whose reply waits for the keep-alive.
        case waiting
        /// Keep-alives owed for heartbeats answered at once, sent when due.
        case owed
    }

    private let queue = Locked(RenewalQueue())
    private let covers: CoverLeases
    private let waitingWakeup: Wakeup
    private let owedWakeup: Wakeup
    /// The member the owed lane found leading, for both lanes (-1: unknown).
    private let leader = Atomic<Int>(-1)
    private let mirror: Mirror
    private let ring: EndpointRing
    private let log: Log
    private let clock: @Sendable () -> Instant
    private let metrics: EtcdMetrics
    private let stopping = Atomic<Bool>(false)
    private let failingNow = Atomic<Bool>(false)
    private let handles = Locked<[ThreadHandle]>([])

    init(
        mirror: Mirror, ring: EndpointRing, covers: CoverLeases, metrics: EtcdMetrics, log: Log,
        clock: @escaping @Sendable () -> Instant
    ) throws(SystemCallError) {
        waitingWakeup = try Wakeup()
        owedWakeup = try Wakeup()
        self.mirror = mirror
        self.ring = ring
        self.covers = covers
        self.metrics = metrics
        self.log = log
        self.clock = clock
    }

    /// Whether the last keep-alive request failed: heartbeats then wait for one that succeeds (and
    /// get 503 when it does not) instead of being answered from an older confirmation.
    var isFailing: Bool { failingNow.load(ordering: .relaxed) }

    func start() {
        let threads = [
            Threads.start(name: "beacon-etcd-keepalive") { [self] in run(.waiting) },
            Threads.start(name: "beacon-etcd-owed") { [self] in run(.owed) },
        ]
        handles.withLock { $0 = threads }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        waitingWakeup.signal()
        owedWakeup.signal()
        for thread in handles.withLock({ $0 }) { thread.join() }
        let abandoned = queue.withLock { $0.takeWaiting(limit: .max) }
        for waiters in abandoned.waiters.values {
            for waiter in waiters { waiter(.failure(.unavailable("etcd: the node is stopping"))) }
        }
    }

    // MARK: - Callers (HTTP and worker threads)

    /// A heartbeat answered at once: its keep-alive goes out `renewalLead` before `deadline`.
    func owe(_ entry: RenewalQueue.Entry, deadline: Instant) {
        let dueAt = deadline.adding(nanoseconds: -LeaseClock.renewalLead(ttl: entry.ttl))
        if queue.withLock({ $0.owe(entry, dueAt: dueAt) }) { owedWakeup.signal() }
    }

    /// A heartbeat whose reply waits for the next keep-alive of its lease.
    func wait(_ entry: RenewalQueue.Entry, _ waiter: @escaping RenewalQueue.Waiter) {
        queue.withLock { $0.wait(entry, waiter) }
        waitingWakeup.signal()
    }

    // MARK: - The thread

    private func run(_ lane: Lane) {
        let connection = EtcdConnection(ring: ring, timeoutMilliseconds: Self.timeoutMilliseconds)
        let probe = EtcdConnection(ring: ring, timeoutMilliseconds: 1_000)
        var leaderCheckedAt: Instant?
        var preferred = -1
        while !stopping.load(ordering: .acquiring) {
            var now = clock()
            if lane == .owed,
                leaderCheckedAt.map({ now.nanoseconds - $0.nanoseconds >= Self.leaderCheckNanoseconds }) ?? true
            {
                leader.store(Self.leaderIndex(probe, ring: ring) ?? -1, ordering: .relaxed)
                leaderCheckedAt = now
            }
            let found = leader.load(ordering: .relaxed)
            if found != preferred {
                connection.preferredMember = found < 0 ? nil : found
                preferred = found
            }
            let batch = queue.withLock { queue in
                switch lane {
                case .waiting: return queue.takeWaiting(limit: Self.batchLimit)
                case .owed:
                    return queue.takeDue(now: now, limit: Self.batchLimit) { [mirror] entry in
                        mirror.registry.read { $0.byID[entry.id] }.map {
                            $0.deadline.adding(nanoseconds: -LeaseClock.renewalLead(ttl: entry.ttl))
                        }
                    }
                }
            }
            if !batch.isEmpty && !send(batch, connection) { leaderCheckedAt = nil }
            guard batch.isEmpty else { continue }
            now = clock()
            switch lane {
            case .waiting: waitingWakeup.wait(milliseconds: 1_000)
            case .owed:
                let wake = queue.withLock { $0.nextDue }
                let milliseconds = wake.map { ($0.nanoseconds - now.nanoseconds + 999_999) / 1_000_000 } ?? 1_000
                owedWakeup.wait(milliseconds: Int(max(1, min(1_000, milliseconds))))
            }
        }
    }

    /// Sends one batch and applies what etcd confirmed. Returns whether the request succeeded.
    private func send(_ batch: RenewalQueue.Batch, _ connection: EtcdConnection) -> Bool {
        var covering: [UInt32: Int64] = [:]
        for ttl in Set(batch.entries.map(\.ttl)) {
            // A heartbeat waiting on this batch does not wait for a grant: the batch then goes uncovered.
            covering[ttl] = covers.use(instanceTTL: ttl)
                ?? (batch.waiters.isEmpty ? covers.grantNow(instanceTTL: ttl, connection) : nil)
        }
        let sentAt = clock()
        metrics.keepAliveRequests.add(1, ordering: .relaxed)
        metrics.keepAlivesSent.add(UInt64(batch.entries.count), ordering: .relaxed)
        let reply: (ttls: [Int64: Int64], revision: Int64)
        do throws(EtcdError) {
            reply = try EtcdReply.keepAlives(
                try connection.callLines("/v3/lease/keepalive", EtcdRequest.keepAlives(batch.entries.map(\.lease))))
        } catch {
            fail(batch, error)
            return false
        }
        metrics.keepAliveMember.store(connection.currentIndex, ordering: .relaxed)
        if failingNow.exchange(false, ordering: .relaxed) { log.info("etcd: keep-alives go through again") }
        let now = clock()
        var confirmed = 0
        var unanswered: [RenewalQueue.Entry] = []
        for entry in batch.entries {
            // No reply line for a lease says nothing about it (the gateway can end the stream early
            // without an error under load): it goes again in the next request, waiters included.
            guard let ttl = reply.ttls[entry.lease] else {
                unanswered.append(entry)
                continue
            }
            var instance: Instance?
            if ttl > 0 {
                confirmed += 1
                let deadline = LeaseClock.deadline(sentAt: sentAt, renewedTTL: ttl, specTTL: entry.ttl)
                instance = mirror.renewed(id: entry.id, lease: entry.lease, deadline: deadline, now: now)
                if instance != nil, let cover = covering[entry.ttl] { covers.record(cover: cover, renewed: entry.lease) }
            }
            guard let waiters = batch.waiters[entry.lease] else { continue }
            let result: Result<Instance, StoreError> = instance.map { .success($0) } ?? .failure(.lease(.unknownInstance(entry.id)))
            for waiter in waiters { waiter(result) }
        }
        if !unanswered.isEmpty {
            metrics.keepAlivesUnanswered.add(UInt64(unanswered.count), ordering: .relaxed)
            log.debug("etcd: \(unanswered.count) of \(batch.entries.count) keep-alives got no reply; sending them again")
            queue.withLock { queue in
                for entry in unanswered {
                    if let waiters = batch.waiters[entry.lease] {
                        for waiter in waiters { queue.wait(entry, waiter) }
                    } else {
                        queue.retry([entry], at: now)
                    }
                }
            }
            waitingWakeup.signal()
            owedWakeup.signal()
        }
        metrics.keepAlivesConfirmed.add(UInt64(confirmed), ordering: .relaxed)
        return true
    }

    /// A failed request: waiting heartbeats get 503; what was owed is tried again shortly, while the
    /// instance is still live here (past its deadline there is nothing left to keep alive).
    private func fail(_ batch: RenewalQueue.Batch, _ error: EtcdError) {
        metrics.keepAliveRequestFailures.add(1, ordering: .relaxed)
        metrics.keepAliveMember.store(-1, ordering: .relaxed)
        if !failingNow.exchange(true, ordering: .relaxed) { log.warning("etcd: keep-alives failing: \(error)") }
        let now = clock()
        var owed: [RenewalQueue.Entry] = []
        for entry in batch.entries {
            if let waiters = batch.waiters[entry.lease] {
                for waiter in waiters { waiter(.failure(.unavailable("etcd: \(error)"))) }
            } else if mirror.registry.instance(id: entry.id, now: now) != nil {
                owed.append(entry)
            }
        }
        queue.withLock { $0.retry(owed, at: now.adding(nanoseconds: Self.retryNanoseconds)) }
    }

    /// The index of the member that leads the cluster, per `/v3/maintenance/status`; nil when it
    /// cannot be told (the ring's order then applies).
    static func leaderIndex(_ probe: EtcdConnection, ring: EndpointRing) -> Int? {
        guard ring.endpoints.count > 1 else { return nil }
        var members: [String: Int] = [:]
        var leader: String?
        for index in ring.endpoints.indices {
            guard let status = try? EtcdReply.status(try probe.call("/v3/maintenance/status", [:], only: index)) else {
                continue
            }
            members[status.member] = index
            leader = leader ?? status.leader
        }
        probe.disconnect()
        return leader.flatMap { members[$0] }
    }
}
