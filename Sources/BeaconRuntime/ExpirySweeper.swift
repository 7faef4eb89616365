import Primitives
import Leases
import PosixIO
import Synchronization

/// Sweeps ended leases out of the table close to their deadlines, on its own thread.
///
/// Answers never depend on it (lookups skip ended leases by themselves); the sweep frees memory,
/// counts expirations and wakes watches, so it checks at least every `maximumSleepMilliseconds`.
final class ExpirySweeper: Sendable {
    private let registry: Registry
    private let stopping = Atomic<Bool>(false)
    private let handle = Locked<ThreadHandle?>(nil)
    static let maximumSleepMilliseconds: Int64 = 50

    init(registry: Registry) { self.registry = registry }

    func start() {
        let thread = Threads.start(name: "beacon-expiry") { [self] in
            while !stopping.load(ordering: .relaxed) {
                let now = Posix.monotonicNanoseconds()
                registry.expire(now: Instant(nanoseconds: now))
                let next = registry.nextSweep?.nanoseconds ?? Int64.max
                let wait = min(max((next - now) / 1_000_000 + 1, 1), Self.maximumSleepMilliseconds)
                Posix.sleep(milliseconds: Int(wait))
            }
        }
        handle.withLock { $0 = thread }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        handle.withLock { $0 }?.join()
    }
}
