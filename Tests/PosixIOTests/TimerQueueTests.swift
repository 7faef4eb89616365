import PosixIO
import Testing

@Suite struct TimerQueueTests {
    @Test func cancelledTimersDoNotPileUpInTheHeap() {
        var queue = TimerQueue()
        var fired: [Int] = []
        var ids: [TimerID] = []
        // Long timers cancelled early, as watches whose clients leave: 100,000 of them, 10 live.
        for index in 0..<100_000 {
            let deadline = Int64(1_000_000 + index)
            ids.append(queue.add(deadline: deadline) { fired.append(index) })
        }
        for (index, id) in ids.enumerated() where index % 10_000 != 0 { queue.cancel(id) }
        #expect(queue.pendingCount == 10)
        #expect(queue.storedCount <= 2_048, "\(queue.storedCount) heap entries for 10 live timers")
        while let action = queue.popDue(now: .max) { action() }
        #expect(fired == Array(stride(from: 0, to: 100_000, by: 10_000)))
        #expect(queue.millisecondsUntilNext(now: 0) == -1)
    }

    @Test func compactionKeepsDeadlineOrderAndCancellationIsIdempotent() {
        var queue = TimerQueue()
        var fired: [Int64] = []
        var ids: [(Int64, TimerID)] = []
        for deadline in (0..<5_000).map({ Int64(($0 * 7_919) % 5_000) }) {
            ids.append((deadline, queue.add(deadline: deadline) { fired.append(deadline) }))
        }
        let cancelled = ids.filter { $0.0 % 3 != 0 }
        for (_, id) in cancelled {
            queue.cancel(id)
            queue.cancel(id)
        }
        #expect(queue.pendingCount == ids.count - cancelled.count)
        while let action = queue.popDue(now: 2_500) { action() }
        #expect(fired == Array(stride(from: 0, through: 2_500, by: 3)).map(Int64.init))
    }
}
