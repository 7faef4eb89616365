import Leases
import Primitives
import PosixIO
import Synchronization

/// Deletes the keys of instances that ended: instance keys carry no lease (covers vouch for them,
/// `RenewalMarker`), so etcd never removes them by itself.
///
/// Every `tickMilliseconds`, while the mirror follows its watch, this thread looks for records whose
/// instance has not been live in the table for `grace(ttl:)`, and deletes each key with a
/// transaction that holds only while its `mod_revision` is the one mirrored, so that a registration
/// made meanwhile wins. The grace leaves any marker still on its way time to arrive and extend the
/// instance instead. Every node collects; the first delete wins, and its event removes the record
/// from the others before their own grace ends (their graces differ by a random part).
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
    /// Instances looked up per hold of the registry's lock (DNS threads wait on it).
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
        var ended = EndedKeys()
        while !stopping.load(ordering: .acquiring) {
            Posix.sleep(milliseconds: Self.tickMilliseconds)
            guard status.current == nil else { continue }
            let now = clock()
            let due = ended.update(Self.notLive(mirror: mirror, now: now), now: now, jitter: jitterNanoseconds)
            for candidate in due {
                if stopping.load(ordering: .relaxed) { break }
                // Another node may have deleted it (or a marker revived it) since the scan.
                guard stillEnded(candidate, now: clock()) else {
                    ended.forget(candidate.id)
                    continue
                }
                do throws(EtcdError) {
                    let request = EtcdRequest.deleteIfUnchanged(SpecCodec.key(id: candidate.id), revision: candidate.revision)
                    let reply = try EtcdReply.txn(try connection.call("/v3/kv/txn", request))
                    ended.forget(candidate.id)
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

    private func stillEnded(_ candidate: Candidate, now: Instant) -> Bool {
        guard mirror.record(id: candidate.id)?.revision == candidate.revision else { return false }
        return mirror.registry.read { $0.byID[candidate.id].map { $0.deadline <= now } ?? true }
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

    /// The mirrored records whose instance is not live in the table. Read in slices, so that a scan
    /// of 100,000 instances never holds the table's lock for long.
    static func notLive(mirror: Mirror, now: Instant) -> [Candidate] {
        let records = mirror.records
        var found: [Candidate] = []
        var index = records.startIndex
        while index != records.endIndex {
            mirror.registry.read { table in
                var looked = 0
                while index != records.endIndex && looked < scanSlice {
                    let (id, record) = records[index]
                    records.formIndex(after: &index)
                    looked += 1
                    guard let spec = record.spec else { continue }
                    if let instance = table.byID[id], instance.deadline > now { continue }
                    found.append(Candidate(id: id, revision: record.revision, ttl: spec.ttl))
                }
            }
        }
        return found
    }
}

/// When each not-live record was first seen so (pure): a key is due once it has stayed not live, at
/// the same revision, for its grace.
package struct EndedKeys {
    private var since: [String: (revision: Int64, at: Instant)] = [:]

    package init() {}

    /// Notes the records not live now, forgets the others, and returns those due.
    package mutating func update(_ notLive: [KeyCollector.Candidate], now: Instant, jitter: Int64) -> [KeyCollector.Candidate] {
        var next: [String: (revision: Int64, at: Instant)] = [:]
        var due: [KeyCollector.Candidate] = []
        for candidate in notLive {
            let first = since[candidate.id].flatMap { $0.revision == candidate.revision ? $0.at : nil } ?? now
            next[candidate.id] = (candidate.revision, first)
            if now.nanoseconds - first.nanoseconds >= KeyCollector.grace(ttl: candidate.ttl) + jitter {
                due.append(candidate)
            }
        }
        since = next
        return due.sorted { $0.id < $1.id }
    }

    package mutating func forget(_ id: String) { since[id] = nil }
}
