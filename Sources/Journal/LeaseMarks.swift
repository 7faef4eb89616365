import Primitives
import Leases
import PosixIO

/// Marks and lazy renewals: what lets recovery tell an instance that was live when the server
/// stopped from one whose lease had already ended, without journaling every heartbeat.
///
/// Every `markInterval` while anything is registered (and with any batch when one is due), the
/// writer journals, in one write and one fsync:
///  - a `renew` for every instance whose last written deadline is less than `renewalHorizon` away
///    and whose lease heartbeats have since moved on (most instances are written about once per
///    TTL, however often they heartbeat);
///  - a `mark` with the time.
/// So after a mark at T every written deadline is either the lease's real end or later than
/// T + `renewalHorizon`. If the server dies before the next mark (by T + `markInterval`, plus a
/// slow fsync's worth), an instance whose written deadline is at most T + `Replay.crashSlack`
/// either ended before the death or had under a second left (and no heartbeat since the mark):
/// recovery leaves all of those out, and brings back every other one. A clean stop ends with a
/// final mark after a last pass, and recovery is then exact.
extension JournalWriter {
    static let markInterval: Int64 = 500_000_000
    static let renewalHorizon: Int64 = 1_500_000_000

    /// Whether a mark is due: one interval since the last, and something to mark (an instance, or
    /// an index that moved since the last mark, so that an emptied table is marked once more).
    func isMarkDue(now: Instant) -> Bool {
        if let lastMark, now.nanoseconds - lastMark.nanoseconds < Self.markInterval { return false }
        return writtenDeadlines.count > 0 || registry.read { $0.lastIndex } != lastMarkedIndex
    }

    /// When the run loop should next wake for a mark: nil when nothing needs marking.
    func nextMarkDue(now: Instant) -> Instant? {
        guard writtenDeadlines.count > 0 || registry.read({ $0.lastIndex }) != lastMarkedIndex else { return nil }
        guard let lastMark else { return now }
        return lastMark.adding(nanoseconds: Self.markInterval)
    }

    /// Writes the renewals and a mark on their own (the loop's timer; a clean stop, `finalStop`).
    mutating func writeMark(finalStop: Bool) {
        buffer.removeAll(keepingCapacity: true)
        appendRenewalsAndMark(now: clock(), finalStop: finalStop)
        _ = appendAndSync(isBatch: false)
    }

    /// Appends the renewals that are due and a mark to `buffer`, and moves the written deadlines on.
    mutating func appendRenewalsAndMark(now: Instant, finalStop: Bool) {
        let horizon = now.nanoseconds + Self.renewalHorizon
        var due: [DeadlineHeap<Instance>.Entry] = []
        while let top = writtenDeadlines.first, top.deadline < horizon {
            _ = writtenDeadlines.popFirst()
            due.append(top)
        }
        // Which are still in the table (not replaced or removed), checked in slices so that DNS
        // readers never wait on the lock for long.
        var current = [Bool](repeating: false, count: due.count)
        var start = 0
        while start < due.count {
            let end = min(start + 512, due.count)
            registry.read { table in
                for position in start..<end { current[position] = table.byID[due[position].payload.id] === due[position].payload }
            }
            start = end
        }
        for (entry, isCurrent) in zip(due, current) where isCurrent {
            let instance = entry.payload
            let deadline = instance.deadline
            if deadline.nanoseconds > entry.deadline {
                Frame.append(.renew(id: instance.id, deadline: timeline.milliseconds(deadline)), to: &buffer)
                writtenDeadlines.push(deadline: deadline.nanoseconds, instance)
            } else if deadline > now {
                writtenDeadlines.push(deadline: entry.deadline, instance)  // a heartbeat may still come
            }
        }
        let index = registry.read { $0.lastIndex }
        Frame.append(
            .mark(JournalEntry.Mark(time: timeline.milliseconds(now), index: index, finalStop: finalStop)), to: &buffer)
        lastMark = now
        lastMarkedIndex = index
    }

    /// The first records of a run: its epoch, the removal of recovered registrations the limits
    /// refused, and a first mark. Every recovered instance's written deadline is then its grace.
    /// - Parameter recoveredAt: the `now` recovery granted every instance its TTL from.
    mutating func startRun(recoveredAt: Instant, epochIndex: UInt64, refusedIDs: [String]) -> String? {
        buffer.removeAll(keepingCapacity: true)
        Frame.append(.epoch(time: timeline.milliseconds(recoveredAt), index: epochIndex), to: &buffer)
        for id in refusedIDs { Frame.append(.deregister(id: id), to: &buffer) }
        for instance in registry.read({ Array($0.allInstances) }) {
            writtenDeadlines.push(deadline: instance.deadline.nanoseconds, instance)
        }
        appendRenewalsAndMark(now: clock(), finalStop: false)
        return appendAndSync(isBatch: false)
    }
}
