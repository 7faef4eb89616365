import Leases

/// The table as the snapshot and journals describe it, record by record: pure, so the rules of
/// what a restart brings back are tested without files.
///
/// The rules (see `Journal.swift` for why they hold):
/// - the last `register` of an id wins, a `deregister` removes it, a `renew` moves its deadline on;
/// - a `mark` says the server was running at its time with every renewal due until shortly after
///   it written: an instance whose written deadline is not past the last mark plus `crashSlack`
///   may have ended before the server stopped, and is not brought back. After a clean stop's
///   final mark the rule is exact (no slack);
/// - an `epoch` (a run starting) applies that rule to what the run recovered, and gives the
///   survivors a lease of their TTL from the epoch's time, as that run did;
/// - damage may have held a `deregister` of anything registered before it: such an instance comes
///   back only if a later record (a `register` or `renew`) shows it was still there.
package struct Replay {
    /// How late after the last mark a crash can have happened: the tick interval with room for a
    /// slow fsync. Milliseconds.
    package static let crashSlackMilliseconds: Int64 = 1_000

    package struct Record: Equatable {
        var spec: InstanceSpec
        /// When its lease ends on the writing run's timeline; nil when the record predates deadlines.
        var deadline: Int64?
        /// Registration order: where limits cannot hold everything, the latest registrations win.
        var sequence: Int
        /// False once damage followed its last record (its deregister may have been lost).
        var confirmed = true
    }

    package private(set) var records: [String: Record] = [:]
    private var nextSequence = 0

    package init() {}
    package private(set) var lastMark: JournalEntry.Mark?
    /// The highest watch index any mark, epoch or snapshot recorded.
    package private(set) var indexHighWater: UInt64 = 0
    /// Instances left out because their lease had ended (or may have) when the server stopped.
    package private(set) var ended = 0
    /// Instances left out because damage may have held their deregistration.
    package private(set) var unconfirmed = 0

    package mutating func apply(_ entry: JournalEntry) {
        switch entry {
        case .register(let spec, let deadline):
            records[spec.id] = Record(spec: spec, deadline: deadline, sequence: nextSequence)
            nextSequence += 1
        case .renew(let id, let deadline):
            guard var record = records[id] else { return }
            record.deadline = max(record.deadline ?? deadline, deadline)
            record.confirmed = true
            records[id] = record
        case .deregister(let id):
            records[id] = nil
        case .mark(let mark):
            lastMark = mark
            indexHighWater = max(indexHighWater, mark.index)
        case .epoch(let time, let index):
            dropEnded()
            for (id, var record) in records {
                record.deadline = time + Int64(record.spec.ttl) * 1000
                records[id] = record
            }
            lastMark = JournalEntry.Mark(time: time, index: index, finalStop: false)
            indexHighWater = max(indexHighWater, index)
        case .snapshotHeader, .snapshotEnd:
            break
        }
    }

    /// Bytes that held no intact frame: whatever is registered so far may have been deregistered there.
    package mutating func damaged() {
        for (id, var record) in records where record.confirmed {
            record.confirmed = false
            records[id] = record
        }
    }

    /// The instances to bring back, most recently registered first.
    package mutating func survivors() -> [InstanceSpec] {
        dropEnded()
        return records.values.sorted { $0.sequence > $1.sequence }.map(\.spec)
    }

    /// Applies the mark rule and the damage rule to what is registered now.
    private mutating func dropEnded() {
        let horizon = lastMark.map { $0.time + ($0.finalStop ? 0 : Self.crashSlackMilliseconds) }
        for (id, record) in records {
            if !record.confirmed {
                records[id] = nil
                unconfirmed += 1
            } else if let horizon, let deadline = record.deadline, deadline <= horizon {
                records[id] = nil
                ended += 1
            }
        }
    }
}
