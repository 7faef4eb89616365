import Primitives
import HTTPWire
import Leases
import PosixIO
import Synchronization

/// The thread that keeps a node's mirror in step with etcd: a full read of the prefix, then one
/// watch from the revision after it; on any failure (member gone, watch cancelled or compacted,
/// malformed data) the state goes unavailable and the cycle starts again on the next member.
///
/// The watch covers all of `/beacon/v1/`: instance keys feed the mirror, and other nodes' renewal
/// markers (`RenewalMarker`) extend the instances they list, after one read of their cover lease.
/// A full read takes the live markers with the keys: an instance's deadline is the end of the latest
/// cover that vouches for it, and one no live cover vouches for is mirrored but not answered.
///
/// A silent watch is indistinguishable from a dead one, so after `probeMilliseconds` without a message
/// the thread sends a linearizable count-only range to the watch's own member: it needs a quorum, so
/// a member cut off from its cluster fails it and the watch moves elsewhere.
final class MirrorSync: Sendable {
    private let mirror: Mirror
    private let ring: EndpointRing
    private let status: StoreStatus
    private let log: Log
    private let clock: @Sendable () -> Instant
    private let metrics: EtcdMetrics
    /// This node's name in marker keys: its own markers need no reading.
    private let node: String
    private let stopping = Atomic<Bool>(false)
    private let handle = Locked<ThreadHandle?>(nil)
    /// Set after each successful full read, for `start` to wait on.
    private let syncedCount = Atomic<Int>(0)

    static let pageSize = 1000
    /// Markers list thousands of keys each: fewer per page.
    static let markerPageSize = 50
    static let probeMilliseconds: Int64 = 1_000
    static let readSliceMilliseconds = 250

    init(
        mirror: Mirror, ring: EndpointRing, status: StoreStatus, node: String, metrics: EtcdMetrics, log: Log,
        clock: @escaping @Sendable () -> Instant
    ) {
        self.mirror = mirror
        self.node = node
        self.metrics = metrics
        self.ring = ring
        self.status = status
        self.log = log
        self.clock = clock
    }

    var syncs: Int { syncedCount.load(ordering: .acquiring) }

    func start() {
        let thread = Threads.start(name: "beacon-etcd-sync") { [self] in run() }
        handle.withLock { $0 = thread }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        handle.withLock { $0 }?.join()
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        // Short timeouts: a member without quorum holds a request for etcd's own 7 s before failing it.
        let connection = EtcdConnection(ring: ring, timeoutMilliseconds: 2_000)
        var covers = CoverDeadlines()
        var backoff = 100
        while !isStopping {
            do throws(EtcdError) {
                let revision = try resync(connection, &covers)
                backoff = 100
                try follow(connection, from: revision + 1, &covers)
            } catch {
                connection.disconnect()
                metrics.watchMember.store(-1, ordering: .relaxed)
                if status.set("etcd: \(error)") {
                    log.warning("etcd: mirror lost (\(error)); answering from the last copy, retrying")
                }
                var slept = 0
                while slept < backoff && !isStopping {
                    Posix.sleep(milliseconds: 50)
                    slept += 50
                }
                backoff = min(backoff * 2, 1_000)
            }
        }
    }

    // MARK: - Full read

    /// Reads the live markers, then the instance keys page by page at the same revision, and
    /// reconciles.
    /// - Returns: the revision of the read.
    private func resync(_ connection: EtcdConnection, _ covers: inout CoverDeadlines) throws(EtcdError) -> Int64 {
        metrics.resyncs.add(1, ordering: .relaxed)
        var revision: Int64 = 0
        // Per instance key, the latest end of a live cover listing it, per TTL (a key registered
        // again with another TTL keeps its create revision; only covers of its TTL count).
        var vouched: [Int64: [UInt32: Instant]] = [:]
        try readPages(RenewalMarker.prefix, limit: Self.markerPageSize, &revision, connection) { page throws(EtcdError) in
            for kv in page {
                guard let (_, ttl) = RenewalMarker.parse(key: kv.key), kv.lease != 0,
                    let keys = RenewalMarker.decode(kv.value),
                    let deadline = try covers.deadline(of: kv.lease, ttl: ttl, connection, metrics: metrics, clock: clock)
                else { continue }
                for created in keys where vouched[created]?[ttl].map({ $0 < deadline }) ?? true {
                    vouched[created, default: [:]][ttl] = deadline
                }
            }
        }
        var snapshot: [EtcdKeyValue] = []
        var prepared: [String: (spec: InstanceSpec?, deadline: Instant)] = [:]
        var planned = 0
        try readPages(SpecCodec.prefix, limit: Self.pageSize, &revision, connection) { page throws(EtcdError) in
            snapshot += page
            // Each page is applied before the next is read (see `Mirror.applyPartial`).
            let newer = page.filter { kv in
                guard let id = SpecCodec.id(key: kv.key) else { return false }
                return (mirror.record(id: id)?.revision ?? 0) < kv.modRevision
            }
            for kv in newer {
                if isStopping { throw .unreachable("stopping") }
                prepared[kv.key] = try prepare(kv, connection, &covers, vouched: vouched[kv.createRevision] ?? [:])
            }
            planned += newer.count
            mirror.applyPartial(newer, prepared: prepared, now: clock())
        }
        // Keys the mirror already had at this revision: markers it missed during the gap still count.
        let extended = vouched.isEmpty ? 0 : extend(vouched)
        let (_, removed) = mirror.reconcile(snapshot: snapshot, revision: revision, prepared: prepared, now: clock())
        metrics.lag.caughtUp(to: revision, at: clock())
        log.info("etcd: mirror read \(snapshot.count) instances at revision \(revision) (\(planned) new or changed, \(removed) removed, \(extended) extended by markers)")
        syncedCount.add(1, ordering: .releasing)
        return revision
    }

    private func extend(_ vouched: [Int64: [UInt32: Instant]]) -> Int {
        struct Cover: Hashable {
            var ttl: UInt32
            var deadline: Instant
        }
        var byCover: [Cover: [Int64]] = [:]
        for (created, ends) in vouched {
            for (ttl, deadline) in ends { byCover[Cover(ttl: ttl, deadline: deadline), default: []].append(created) }
        }
        var count = 0
        for (cover, keys) in byCover {
            count += mirror.renewed(created: keys, ttl: cover.ttl, deadline: cover.deadline, now: clock())
        }
        return count
    }

    /// Reads every key under `prefix` page by page at `revision` (0: the current one, which is then
    /// stored there, so that later reads form one snapshot with this one).
    private func readPages(
        _ prefix: String, limit: Int, _ revision: inout Int64, _ connection: EtcdConnection,
        _ body: ([EtcdKeyValue]) throws(EtcdError) -> Void
    ) throws(EtcdError) {
        var from = Array(prefix.utf8)
        while true {
            let request = EtcdRequest.rangePage(from: from, prefix: prefix, limit: limit, revision: revision)
            let page = try EtcdReply.range(try connection.call("/v3/kv/range", request))
            if revision == 0 { revision = page.revision }
            try body(page.kvs)
            guard page.more, let last = page.kvs.last else { return }
            from = Array(last.key.utf8) + [0]
        }
    }

    /// Decodes a key's spec and finds its deadline: the end of the cover its value names, or of a
    /// marker's (`vouched`), whichever is later; `.zero` when no live cover vouches for it.
    private func prepare(
        _ kv: EtcdKeyValue, _ connection: EtcdConnection, _ covers: inout CoverDeadlines,
        vouched: [UInt32: Instant] = [:]
    ) throws(EtcdError) -> (spec: InstanceSpec?, deadline: Instant) {
        guard let id = SpecCodec.id(key: kv.key) else { return (nil, .zero) }
        let spec: InstanceSpec
        let cover: Int64?
        switch SpecCodec.decodeWithCover(kv.value, id: id) {
        case .success(let decoded): (spec, cover) = decoded
        case .failure(let error):
            log.warning("etcd: ignoring \(kv.key): \(error)")
            return (nil, .zero)
        }
        var deadline = vouched[spec.ttl] ?? .zero
        if let record = mirror.record(id: id), record.created == kv.createRevision, record.spec == spec,
            let instance = mirror.registry.read({ $0.byID[id] })
        {
            deadline = max(deadline, instance.deadline)  // the same key: what vouched for it still holds
        }
        if let cover, let end = try covers.deadline(of: cover, ttl: spec.ttl, connection, metrics: metrics, clock: clock) {
            deadline = max(deadline, end)
        }
        return (spec, deadline)
    }

    // MARK: - Watch

    /// Follows the watch until it fails (throws) or the store stops (returns).
    private func follow(_ connection: EtcdConnection, from startRevision: Int64, _ covers: inout CoverDeadlines)
        throws(EtcdError)
    {
        let index = max(0, connection.currentIndex)
        var watch = try WatchStream(
            ring: ring, index: index, prefix: SpecCodec.rootPrefix, startRevision: startRevision,
            timeoutMilliseconds: 3_000)
        var created = false
        var lastHeard = clock()
        while !isStopping {
            let messages = try watch.next(timeoutMilliseconds: Self.readSliceMilliseconds)
            let now = clock()
            if messages.isEmpty {
                if now.seconds(since: lastHeard) * 1000 < Double(Self.probeMilliseconds) { continue }
                guard created else { throw .unreachable("\(watch.endpoint): watch not confirmed") }
                // On a fresh connection: `HTTPClient` retries a failed request once on a reused one,
                // which would double the time a member without quorum takes to fail the probe.
                connection.disconnect()
                _ = try connection.call("/v3/kv/range", EtcdRequest.range(prefix: SpecCodec.prefix, countOnly: true), only: index)
                lastHeard = clock()
                continue
            }
            lastHeard = now
            for message in messages {
                if message.canceled || message.compactRevision != 0 {
                    let why = message.compactRevision != 0
                        ? "revision \(startRevision) compacted (now \(message.compactRevision))" : message.cancelReason
                    throw .rejected(status: 200, message: "watch cancelled: \(why)")
                }
                if message.created && !created {
                    created = true
                    ring.markGood(index)
                    metrics.watchMember.store(index, ordering: .relaxed)
                    if status.set(nil) { log.info("etcd: mirror following \(watch.endpoint) from revision \(startRevision)") }
                }
                for event in message.events { try apply(event, connection, &covers) }
                if !message.events.isEmpty { metrics.lag.caughtUp(to: mirror.watermark, at: clock()) }
            }
            covers.forget(before: clock())
        }
    }

    private func apply(_ event: EtcdEvent, _ connection: EtcdConnection, _ covers: inout CoverDeadlines)
        throws(EtcdError)
    {
        switch event {
        case .delete(let key, let revision):
            guard let id = SpecCodec.id(key: key) else {
                mirror.advanceWatermark(to: revision)
                return
            }
            mirror.applyDelete(id: id, revision: revision, origin: .stream, now: clock())
        case .put(let kv):
            guard let id = SpecCodec.id(key: kv.key) else {
                try applyMarker(kv, connection, &covers)
                mirror.advanceWatermark(to: kv.modRevision)
                return
            }
            if let record = mirror.record(id: id), record.revision >= kv.modRevision {
                mirror.advanceWatermark(to: kv.modRevision)
                return
            }
            let (spec, deadline) = try prepare(kv, connection, &covers)
            guard let spec else {
                mirror.applyDelete(id: id, revision: kv.modRevision, origin: .stream, now: clock())
                return
            }
            _ = try? mirror.applyPut(
                spec, created: kv.createRevision, revision: kv.modRevision, deadline: deadline, origin: .stream,
                now: clock())
        }
    }

    /// Another node's renewal marker: one read of its cover lease extends every listed instance.
    private func applyMarker(_ kv: EtcdKeyValue, _ connection: EtcdConnection, _ covers: inout CoverDeadlines)
        throws(EtcdError)
    {
        guard let (from, ttl) = RenewalMarker.parse(key: kv.key), from != node, kv.lease != 0,
            let keys = RenewalMarker.decode(kv.value)
        else { return }
        guard let deadline = try covers.deadline(of: kv.lease, ttl: ttl, connection, metrics: metrics, clock: clock)
        else { return }
        let extended = mirror.renewed(created: keys, ttl: ttl, deadline: deadline, now: clock())
        metrics.markersApplied.add(1, ordering: .relaxed)
        metrics.renewalsLearned.add(UInt64(extended), ordering: .relaxed)
    }
}

/// What a node has read of cover leases: each is read once, and what etcd said kept for the
/// registrations and markers that name it.
struct CoverDeadlines {
    private var known: [Int64: (remaining: Int64, granted: Int64, readAt: Instant)] = [:]
    private var lastForgot = Instant.zero
    static let keepNanoseconds: Int64 = 120_000_000_000

    init() {}

    /// The end of `cover` for instances of `ttl` (`LeaseClock`); nil when etcd no longer has it.
    mutating func deadline(
        of cover: Int64, ttl: UInt32, _ connection: EtcdConnection, metrics: EtcdMetrics, clock: @Sendable () -> Instant
    ) throws(EtcdError) -> Instant? {
        let entry: (remaining: Int64, granted: Int64, readAt: Instant)
        if let known = known[cover] {
            entry = known
        } else {
            let sentAt = clock()
            metrics.leaseLookups.add(1, ordering: .relaxed)
            let reply = try EtcdReply.timeToLive(try connection.call("/v3/lease/timetolive", EtcdRequest.lease(cover)))
            entry = (reply.remaining, reply.granted, sentAt)
            known[cover] = entry
        }
        return LeaseClock.deadline(sentAt: entry.readAt, remaining: entry.remaining, granted: entry.granted, specTTL: ttl)
    }

    /// Drops entries read long ago (their leases have ended; nothing names them any more).
    mutating func forget(before now: Instant) {
        guard known.count > 256, now.nanoseconds - lastForgot.nanoseconds > 10_000_000_000 else { return }
        lastForgot = now
        known = known.filter { now.nanoseconds - $0.value.readAt.nanoseconds < Self.keepNanoseconds }
    }
}
