import Leases
import Primitives
import Synchronization

/// Counters and gauges of a node's link to etcd, for `/metrics` (issue 17): plain atomics, read
/// without locks by the renderer.
package final class EtcdMetrics: Sendable {
    /// The `--store` members, in order: the member gauges below are indexes into it.
    package let endpoints: [String]
    /// The member the watch follows, or -1 while there is no watch.
    package let watchMember = Atomic<Int>(-1)
    /// Full re-reads of the prefix (the first one at start, then one after each lost watch).
    package let resyncs = Atomic<UInt64>(0)
    /// `/v3/lease/timetolive` reads of cover leases (named by new keys and by markers).
    package let leaseLookups = Atomic<UInt64>(0)
    /// Heartbeats answered under the current cover, and those that waited for a cover grant.
    package let heartbeatsAnsweredAtOnce = Atomic<UInt64>(0)
    package let heartbeatsWaited = Atomic<UInt64>(0)
    /// Keys of ended instances this node deleted (`KeyCollector`).
    package let keysCollected = Atomic<UInt64>(0)
    package let coverLeasesGranted = Atomic<UInt64>(0)
    package let markersPublished = Atomic<UInt64>(0)
    package let markerFailures = Atomic<UInt64>(0)
    /// Markers from other nodes applied, and the instances they extended.
    package let markersApplied = Atomic<UInt64>(0)
    package let renewalsLearned = Atomic<UInt64>(0)
    package let lag = MirrorLag()

    package init(endpoints: [String]) {
        self.endpoints = endpoints
    }
}

/// How far the mirror trails etcd, measured with this node's own writes: each write's revision and
/// the time etcd acknowledged it are noted, and the lag is how long the watch took to deliver that
/// revision (or, while one is still outstanding, how long it has been waiting). Writes of other
/// clients to other prefixes move etcd's revision too, so a revision difference would not do.
package final class MirrorLag: Sendable {
    private struct State {
        var outstanding: [(revision: Int64, at: Instant)] = []
        var lastNanoseconds: Int64 = 0
        /// The mirror holds every revision up to here (a write noted after the watch delivered it
        /// measured no lag).
        var delivered: Int64 = 0
    }

    private let state = Locked(State())
    static let maximumOutstanding = 64

    package init() {}

    /// A write of this node that etcd acknowledged at `revision`.
    package func wrote(revision: Int64, at now: Instant) {
        guard revision > 0 else { return }
        state.withLock { state in
            if revision <= state.delivered {
                state.lastNanoseconds = 0
            } else if state.outstanding.count < Self.maximumOutstanding {
                state.outstanding.append((revision, now))
            }
        }
    }

    /// The watch (or a re-read) has brought the mirror up to `revision`.
    package func caughtUp(to revision: Int64, at now: Instant) {
        state.withLock { state in
            state.delivered = max(state.delivered, revision)
            // Writes of several threads may be noted out of revision order.
            var delivered: Int64?
            state.outstanding.removeAll { write in
                guard write.revision <= revision else { return false }
                delivered = max(delivered ?? 0, now.nanoseconds - write.at.nanoseconds)
                return true
            }
            if let delivered { state.lastNanoseconds = delivered }
        }
    }

    /// The lag now: the oldest write still not delivered, or else the last one measured.
    package func nanoseconds(now: Instant) -> Int64 {
        state.withLock { state in
            let oldest = state.outstanding.map(\.at.nanoseconds).min()
            return max(state.lastNanoseconds, oldest.map { now.nanoseconds - $0 } ?? 0)
        }
    }
}
