import Leases
import Primitives

/// The leases a node owes a keep-alive, and when each must go out (pure: no I/O, no clock).
///
/// Two kinds of heartbeat reach it:
/// - *waiting*: the node's deadline was too close (`LeaseClock.answersAtOnce`), so the HTTP reply
///   waits for a keep-alive sent after the heartbeat arrived; it goes out in the next batch.
/// - *owed*: the heartbeat was answered at once; its keep-alive goes out `LeaseClock.renewalLead`
///   before the deadline. Every heartbeat owed before then shares that one keep-alive, which is
///   sent after all of them and so renews the lease to a full TTL past each.
/// A lease sent for a waiting heartbeat also settles what it owed.
package struct RenewalQueue {
    package struct Entry: Equatable, Hashable, Sendable {
        package var id: String
        package var lease: Int64
        package var ttl: UInt32

        package init(id: String, lease: Int64, ttl: UInt32) {
            self.id = id
            self.lease = lease
            self.ttl = ttl
        }
    }

    package typealias Waiter = @Sendable (Result<Instance, StoreError>) -> Void

    /// What to send in one request, and whom to answer when it is confirmed.
    package struct Batch {
        package var entries: [Entry] = []
        package var waiters: [Int64: [Waiter]] = [:]
        package var isEmpty: Bool { entries.isEmpty }
    }

    private var waiting: [Int64: (entry: Entry, waiters: [Waiter])] = [:]
    private var waitingOrder: [Int64] = []
    private var owed: [Int64: Entry] = [:]
    /// When each owed lease is due; an entry whose lease is no longer owed is skipped when popped.
    private var due = DeadlineHeap<Int64>()

    package init() {}

    package var waitingCount: Int { waiting.count }
    package var owedCount: Int { owed.count }
    /// The earliest time an owed lease may be due (possibly stale: waking early is harmless).
    package var nextDue: Instant? { due.first.map { Instant(nanoseconds: $0.deadline) } }

    /// Records a heartbeat answered at once.
    /// - Returns: whether this made a keep-alive due earlier than anything owed before (the sender
    ///   should wake up and recompute its sleep).
    @discardableResult
    package mutating func owe(_ entry: Entry, dueAt: Instant) -> Bool {
        guard owed[entry.lease] == nil, waiting[entry.lease] == nil else { return false }
        let earlier = nextDue.map { dueAt < $0 } ?? true
        owed[entry.lease] = entry
        due.push(deadline: dueAt.nanoseconds, entry.lease)
        return earlier
    }

    /// Records a heartbeat whose reply waits for the next keep-alive of its lease.
    package mutating func wait(_ entry: Entry, _ waiter: @escaping Waiter) {
        if waiting[entry.lease] == nil {
            waiting[entry.lease] = (entry, [waiter])
            waitingOrder.append(entry.lease)
        } else {
            waiting[entry.lease]!.waiters.append(waiter)
        }
    }

    /// Takes what must go out at `now`: every waiting lease (oldest first), then the owed leases that
    /// are due, up to `limit` leases in all.
    /// - Parameter dueAt: an owed lease's due time now (its deadline may have moved since it was owed,
    ///   by a renewal learned from another node); nil sends it at once. A lease not due yet is put back.
    package mutating func take(now: Instant, limit: Int, dueAt: (Entry) -> Instant?) -> Batch {
        var batch = takeWaiting(limit: limit)
        let due = takeDue(now: now, limit: limit - batch.entries.count, dueAt: dueAt)
        batch.entries += due.entries
        return batch
    }

    /// Takes the waiting leases, oldest first, up to `limit`: a sender of their own answers them
    /// without queueing behind a large batch of owed keep-alives.
    package mutating func takeWaiting(limit: Int) -> Batch {
        var batch = Batch()
        var taken = 0
        for lease in waitingOrder {
            guard taken < limit else { break }
            taken += 1
            guard let item = waiting.removeValue(forKey: lease) else { continue }
            batch.entries.append(item.entry)
            batch.waiters[lease] = item.waiters
            owed[lease] = nil  // sent after the heartbeats it owed: they are covered
        }
        waitingOrder.removeFirst(taken)
        return batch
    }

    /// Takes the owed leases that are due at `now`, up to `limit` (see `take`).
    package mutating func takeDue(now: Instant, limit: Int, dueAt: (Entry) -> Instant?) -> Batch {
        var batch = Batch()
        var putBack: [(Int64, Int64)] = []
        while batch.entries.count < limit, let first = due.first, first.deadline <= now.nanoseconds {
            _ = due.popFirst()
            guard let entry = owed[first.payload] else { continue }
            if let when = dueAt(entry), when > now {
                putBack.append((when.nanoseconds, first.payload))
                continue
            }
            owed[first.payload] = nil
            batch.entries.append(entry)
        }
        for (when, lease) in putBack { due.push(deadline: when, lease) }
        return batch
    }

    /// Owes again the leases of a request that failed (their heartbeats were answered), due at
    /// `retryAt`; leases owed again meanwhile keep their own due time.
    package mutating func retry(_ entries: [Entry], at retryAt: Instant) {
        for entry in entries { owe(entry, dueAt: retryAt) }
    }
}
