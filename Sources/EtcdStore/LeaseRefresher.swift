import Primitives
import Leases
import PosixIO
import Synchronization

/// The fallback for renewals made through other nodes that no renewal marker reported.
///
/// etcd emits no watch event for a keep-alive; other nodes normally learn renewals from markers
/// (`RenewalMarker`, applied by `MirrorSync`) well before their deadlines. Every `tickMilliseconds`
/// this thread looks for instances whose local deadline is within `LeaseClock.refreshWindow` anyway
/// (markers missed during a watch gap, TTLs too short for markers, nodes of older versions), asks
/// `/v3/lease/timetolive` about each (at most once per `minimumIntervalMilliseconds`), and moves the
/// deadline to what etcd says. It never shortens one (`Instance.extendDeadline`), and when etcd
/// cannot be reached it changes nothing: the instances then drain out at the deadlines already
/// known, which are never later than the real leases.
final class LeaseRefresher: Sendable {
    private let mirror: Mirror
    private let ring: EndpointRing
    private let metrics: EtcdMetrics
    private let log: Log
    private let clock: @Sendable () -> Instant
    private let stopping = Atomic<Bool>(false)
    private let handle = Locked<ThreadHandle?>(nil)

    static let tickMilliseconds = 500
    static let minimumIntervalMilliseconds: Int64 = 1_000
    /// Instances looked up per hold of the registry's lock (DNS threads wait on it).
    static let scanSlice = 2_048

    init(mirror: Mirror, ring: EndpointRing, metrics: EtcdMetrics, log: Log, clock: @escaping @Sendable () -> Instant) {
        self.mirror = mirror
        self.ring = ring
        self.metrics = metrics
        self.log = log
        self.clock = clock
    }

    func start() {
        let thread = Threads.start(name: "beacon-etcd-ttl") { [self] in run() }
        handle.withLock { $0 = thread }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        handle.withLock { $0 }?.join()
    }

    private func run() {
        let connection = EtcdConnection(ring: ring, timeoutMilliseconds: 1_000)
        var lastAsked: [String: Instant] = [:]
        var failing = false
        while !stopping.load(ordering: .acquiring) {
            Posix.sleep(milliseconds: failing ? 1_000 : Self.tickMilliseconds)
            let now = clock()
            let due = Self.due(mirror: mirror, now: now)
            if lastAsked.count > due.count { lastAsked = lastAsked.filter { now.seconds(since: $0.value) < 10 } }
            failing = false
            for candidate in due {
                if stopping.load(ordering: .relaxed) { break }
                if let asked = lastAsked[candidate.id],
                    now.seconds(since: asked) * 1000 < Double(Self.minimumIntervalMilliseconds)
                {
                    continue
                }
                lastAsked[candidate.id] = now
                metrics.fallbackLookups.add(1, ordering: .relaxed)
                do throws(EtcdError) {
                    guard
                        let deadline = try MirrorSync.leaseDeadline(
                            candidate.lease, specTTL: candidate.ttl, connection, clock: clock)
                    else { continue }  // the lease is gone: its delete event is on the way
                    _ = mirror.renewed(id: candidate.id, lease: candidate.lease, deadline: deadline, now: clock())
                } catch {
                    if !error.isLeaseNotFound {
                        log.debug("etcd: lease check for \(candidate.id) failed: \(error)")
                        failing = true
                        break
                    }
                }
            }
        }
    }

    struct Candidate: Equatable {
        var id: String
        var lease: Int64
        var ttl: UInt32
    }

    /// The mirrored instances whose local deadline is within their refresh window, or which the sweep
    /// has already removed while etcd still held them. The table is read in slices, so that a scan of
    /// 100,000 instances never holds its lock for long.
    static func due(mirror: Mirror, now: Instant) -> [Candidate] {
        let records = mirror.records
        var due: [Candidate] = []
        var index = records.startIndex
        while index != records.endIndex {
            mirror.registry.read { table in
                var looked = 0
                while index != records.endIndex && looked < scanSlice {
                    let (id, record) = records[index]
                    records.formIndex(after: &index)
                    looked += 1
                    guard let spec = record.spec else { continue }
                    let deadline = table.byID[id]?.deadline ?? .zero
                    guard deadline.nanoseconds - now.nanoseconds < LeaseClock.refreshWindow(ttl: spec.ttl) else { continue }
                    due.append(Candidate(id: id, lease: record.lease, ttl: spec.ttl))
                }
            }
        }
        return due
    }
}
