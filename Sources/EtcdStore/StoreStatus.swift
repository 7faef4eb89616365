import Primitives
import Synchronization

/// Whether the store can take writes, as `/healthz` reports it: nil while the mirror follows etcd.
final class StoreStatus: Sendable {
    private let reason = Locked<String?>("etcd: not synchronised yet")

    var current: String? { reason.withLock { $0 } }

    /// Records a new state; returns whether it changed (for logging transitions once).
    @discardableResult
    func set(_ newReason: String?) -> Bool {
        reason.withLock { reason in
            let changed = (reason == nil) != (newReason == nil)
            reason = newReason
            return changed
        }
    }
}
