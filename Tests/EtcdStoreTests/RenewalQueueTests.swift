import EtcdStore
import Leases
import Synchronization
import Testing

@Suite struct RenewalQueueTests {
    let start = Instant(nanoseconds: 1_000_000_000_000)
    func at(_ seconds: Int64) -> Instant { start.adding(seconds: seconds) }
    static func entry(_ lease: Int64, ttl: UInt32 = 30) -> RenewalQueue.Entry {
        RenewalQueue.Entry(id: "i\(lease)", lease: lease, ttl: ttl)
    }
    /// The leases `take` hands out at `now`, with deadlines that have not moved since they were owed.
    func take(_ queue: inout RenewalQueue, at now: Instant, limit: Int = 100) -> [Int64] {
        queue.take(now: now, limit: limit) { _ in nil }.entries.map(\.lease)
    }

    @Test func owedKeepAlivesWaitUntilDueAndSeveralHeartbeatsShareOne() {
        var queue = RenewalQueue()
        let firstOwed = queue.owe(Self.entry(1), dueAt: at(20))
        let owedAgain = queue.owe(Self.entry(1), dueAt: at(25))
        let earlier = queue.owe(Self.entry(2), dueAt: at(10))
        let later = queue.owe(Self.entry(3), dueAt: at(15))
        #expect(firstOwed && !owedAgain, "already owed: the later keep-alive covers this heartbeat too")
        #expect(earlier && !later, "only a keep-alive due earlier than all others wakes the sender")
        let early = take(&queue, at: at(9))
        let first = take(&queue, at: at(15))
        let between = take(&queue, at: at(19))
        let last = take(&queue, at: at(20))
        let after = take(&queue, at: at(100))
        #expect(early.isEmpty && first == [2, 3] && between.isEmpty && last == [1])
        #expect(queue.owedCount == 0 && after.isEmpty)
    }

    @Test func aWaitingHeartbeatGoesOutAtOnceAndSettlesWhatItsLeaseOwed() {
        var queue = RenewalQueue()
        queue.owe(Self.entry(1), dueAt: at(20))
        let answers = Atomic<Int>(0)
        queue.wait(Self.entry(1)) { _ in answers.add(1, ordering: .relaxed) }
        queue.wait(Self.entry(1)) { _ in answers.add(1, ordering: .relaxed) }
        let owedWhileWaiting = queue.owe(Self.entry(1), dueAt: at(20))
        #expect(!owedWhileWaiting, "a keep-alive not yet sent covers it")
        let batch = queue.take(now: at(0), limit: 100) { _ in nil }
        #expect(batch.entries == [Self.entry(1)], "one keep-alive for the lease")
        #expect(batch.waiters[1]?.count == 2)
        #expect(queue.owedCount == 0 && queue.waitingCount == 0)
        let later = take(&queue, at: at(30))
        #expect(later.isEmpty, "the owed keep-alive was sent with the waiting one")
    }

    @Test func anOwedLeaseWhoseDeadlineMovedIsPutBackUntilItsNewDueTime() {
        var queue = RenewalQueue()
        queue.owe(Self.entry(1), dueAt: at(10))
        queue.owe(Self.entry(2), dueAt: at(10))
        // Lease 1 was renewed meanwhile by another node (a marker moved its deadline).
        let moved: (RenewalQueue.Entry) -> Instant? = { $0.lease == 1 ? at(25) : at(10) }
        let due = queue.take(now: at(10), limit: 100, dueAt: moved).entries.map(\.lease)
        #expect(due == [2])
        #expect(queue.nextDue == at(25))
        let early = queue.take(now: at(24), limit: 100, dueAt: moved)
        let onTime = queue.take(now: at(25), limit: 100, dueAt: moved).entries.map(\.lease)
        #expect(early.isEmpty && onTime == [1])
    }

    @Test func batchesStopAtTheLimitAndTheRestFollows() {
        var queue = RenewalQueue()
        for lease: Int64 in 1...5 { queue.wait(Self.entry(lease)) { _ in } }
        for lease: Int64 in 6...10 { queue.owe(Self.entry(lease), dueAt: at(lease)) }
        var batches: [[Int64]] = []
        for _ in 0..<4 { batches.append(take(&queue, at: at(100), limit: 3)) }
        #expect(batches == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]], "waiting heartbeats first, oldest first")
    }

    @Test func leasesOfAFailedRequestAreOwedAgain() {
        var queue = RenewalQueue()
        queue.owe(Self.entry(1), dueAt: at(5))
        let failed = queue.take(now: at(5), limit: 100) { _ in nil }.entries
        queue.retry(failed, at: at(6))
        let before = take(&queue, at: at(5))
        let retried = take(&queue, at: at(6))
        #expect(before.isEmpty && retried == [1])
    }

    @Test func waitingAndOwedLeasesAreTakenByTheirOwnSenders() {
        var queue = RenewalQueue()
        queue.owe(Self.entry(1), dueAt: at(5))
        queue.wait(Self.entry(2)) { _ in }
        let owed = queue.takeDue(now: at(10), limit: 100) { _ in nil }
        let waiting = queue.takeWaiting(limit: 100)
        #expect(owed.entries.map(\.lease) == [1] && owed.waiters.isEmpty)
        #expect(waiting.entries.map(\.lease) == [2] && waiting.waiters[2]?.count == 1)
    }
}
