import Primitives
import Leases
import PosixIO
import Synchronization

/// Learns lease renewals made through other nodes.
///
/// etcd emits no watch event for a keep-alive, so a node that did not take a heartbeat still holds
/// the deadline it last learned. Every `tickMilliseconds` this thread asks `/v3/lease/timetolive`
/// about each instance whose local deadline is within `LeaseClock.refreshWindow` (and that it has not
/// asked about in the last `minimumIntervalMilliseconds`), and moves the deadline to what etcd says.
/// It never shortens one (`Instance.extendDeadline`), and when etcd cannot be reached it changes
/// nothing: the instances then drain out at the deadlines already known, which are never later than
/// the real leases.
final class LeaseRefresher: Sendable {
    private let mirror: Mirror
    private let ring: EndpointRing
    private let log: Log
    private let clock: @Sendable () -> Instant
    private let stopping = Atomic<Bool>(false)
    private let handle = Locked<ThreadHandle?>(nil)

    static let tickMilliseconds = 200
    static let minimumIntervalMilliseconds: Int64 = 1_000

    init(mirror: Mirror, ring: EndpointRing, log: Log, clock: @escaping @Sendable () -> Instant) {
        self.mirror = mirror
        self.ring = ring
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
            lastAsked = lastAsked.filter { due.contains(id: $0.key) && now.seconds(since: $0.value) < 10 }
            failing = false
            for candidate in due.candidates {
                if stopping.load(ordering: .relaxed) { break }
                if let asked = lastAsked[candidate.id],
                    now.seconds(since: asked) * 1000 < Double(Self.minimumIntervalMilliseconds)
                {
                    continue
                }
                lastAsked[candidate.id] = now
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

    struct Due {
        var candidates: [(id: String, lease: Int64, ttl: UInt32)] = []
        var ids = Set<String>()
        func contains(id: String) -> Bool { ids.contains(id) }
    }

    /// The mirrored instances whose local deadline is within their refresh window, or which the sweep
    /// has already removed while etcd still held them.
    static func due(mirror: Mirror, now: Instant) -> Due {
        let records = mirror.records
        var due = Due()
        mirror.registry.read { table in
            for (id, record) in records {
                guard let spec = record.spec else { continue }
                let deadline = table.byID[id]?.deadline ?? .zero
                guard deadline.nanoseconds - now.nanoseconds < LeaseClock.refreshWindow(ttl: spec.ttl) else { continue }
                due.candidates.append((id, record.lease, spec.ttl))
                due.ids.insert(id)
            }
        }
        return due
    }
}
