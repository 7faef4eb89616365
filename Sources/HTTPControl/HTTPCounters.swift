import Synchronization

/// Request totals by status for `/metrics`.
///
/// Each event loop counts into its own shard, so two loops answering at full speed never write the
/// same cache line; `/metrics` adds the shards up.
package final class HTTPCounters: Sendable {
    package static let statuses = [200, 400, 401, 403, 404, 405, 408, 411, 413, 429, 431, 500, 503, 505]
    private static let shardCount = 64
    private let shards: [HTTPStatusCounts]
    package let connectionsRejected = Atomic<UInt64>(0)
    package let connectionsTimedOut = Atomic<UInt64>(0)
    package let watchesWaiting = Atomic<Int>(0)
    /// TLS handshakes (or records) that failed: a plain-HTTP client, an unverified certificate.
    package let tlsFailures = Atomic<UInt64>(0)

    package init() {
        shards = (0..<Self.shardCount).map { _ in HTTPStatusCounts() }
    }

    /// The counts one event loop writes to.
    package func shard(_ index: Int) -> HTTPStatusCounts { shards[index % Self.shardCount] }

    /// Counts from a caller that has no loop of its own.
    package func count(status: Int) { shards[0].count(status: status) }

    /// (status label, count) pairs; "other" last.
    package var requestsByStatus: [(String, UInt64)] {
        (0...Self.statuses.count).map { slot in
            (slot < Self.statuses.count ? String(Self.statuses[slot]) : "other",
                shards.reduce(0) { $0 + $1.value(slot) })
        }
    }
}

/// One loop's request counts by status.
package final class HTTPStatusCounts: Sendable {
    private let byStatus: InlineArray<15, Atomic<UInt64>>

    init() {
        precondition(HTTPCounters.statuses.count + 1 == 15)
        byStatus = InlineArray { _ in Atomic<UInt64>(0) }
    }

    package func count(status: Int) {
        let slot = HTTPCounters.statuses.firstIndex(of: status) ?? HTTPCounters.statuses.count
        byStatus[slot].add(1, ordering: .relaxed)
    }

    func value(_ slot: Int) -> UInt64 { byStatus[slot].load(ordering: .relaxed) }
}
