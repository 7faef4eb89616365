import Synchronization

/// Request totals by status for `/metrics`.
package final class HTTPCounters: Sendable {
    package static let statuses = [200, 400, 401, 403, 404, 405, 408, 411, 413, 429, 431, 500, 503, 505]
    private let byStatus: InlineArray<15, Atomic<UInt64>>
    package let connectionsRejected = Atomic<UInt64>(0)
    package let connectionsTimedOut = Atomic<UInt64>(0)
    package let watchesWaiting = Atomic<Int>(0)

    package init() {
        precondition(Self.statuses.count + 1 == 15)
        byStatus = InlineArray { _ in Atomic<UInt64>(0) }
    }

    package func count(status: Int) {
        let slot = Self.statuses.firstIndex(of: status) ?? Self.statuses.count
        byStatus[slot].add(1, ordering: .relaxed)
    }

    /// (status label, count) pairs; "other" last.
    package var requestsByStatus: [(String, UInt64)] {
        Self.statuses.enumerated().map { (String($1), byStatus[$0].load(ordering: .relaxed)) }
            + [("other", byStatus[Self.statuses.count].load(ordering: .relaxed))]
    }
}
