import Leases
import PosixIO

/// What recovery found and did. Logged at start; kept on the store for tests and diagnostics.
package struct RecoveryReport: Sendable, Equatable {
    /// Instances in the table once recovery ended.
    package var instances = 0
    /// The generation the snapshot was taken at, and the registrations read from it.
    package var snapshotGeneration: UInt64? = nil
    package var snapshotInstances = 0
    /// Register and deregister records replayed from journals, and how many journal files.
    package var journalRecords = 0
    package var journalFiles = 0
    /// Registrations the table refused on replay (its limits were lowered since they were written).
    package var refused = 0
    /// Registrations left out because their lease had ended (or may have) when the server stopped.
    package var endedBeforeStop = 0
    /// Registrations left out because damage after them may have held their deregistration.
    package var unconfirmedAfterDamage = 0
    /// Damaged stretches skipped, keeping the intact frames after them.
    package var skippedRanges: [SkippedRange] = []
    package var tornTails: [TornTail] = []
    package var corruptFiles: [CorruptFile] = []
    /// Leftovers of an interrupted compaction: `snapshot.tmp`, journals the snapshot already holds.
    package var removedFiles: [String] = []
    package var nanoseconds: Int64 = 0

    /// An interrupted append, cut off: `file` now ends at `offset`.
    package struct TornTail: Sendable, Equatable {
        package var file: String
        package var offset: Int
        package var droppedBytes: Int
        package var reason: String
    }

    /// Bytes `[start, end)` of `file` that held no intact frame.
    package struct SkippedRange: Sendable, Equatable {
        package var file: String
        package var start: Int
        package var end: Int

        package init(file: String, start: Int, end: Int) {
            self.file = file
            self.start = start
            self.end = end
        }
    }

    /// A file with damage followed by intact data, moved aside after its prefix was replayed.
    package struct CorruptFile: Sendable, Equatable {
        package var file: String
        package var offset: Int
        package var reason: String
        package var movedTo: String
    }
}

/// Rebuilds the table from the snapshot and the journals at start, repairing what a crash or a
/// failing disk left behind.
enum Recovery {
    struct Outcome {
        var report: RecoveryReport
        /// The journal to keep appending to, with its size; nil to start a new generation.
        var activeJournal: (generation: UInt64, size: Int)?
        /// The highest generation any file in the directory used: a new journal takes the next.
        var highestGeneration: UInt64
        /// Journal bytes written since the snapshot, for the compaction trigger.
        var journalBytes: Int
        /// Damaged files, to be moved aside once a fresh snapshot holds what was read from them.
        var damagedFiles: [RecoveryReport.CorruptFile] = []
        /// The highest watch index the files recorded.
        var indexHighWater: UInt64 = 0
        /// Recovered registrations the table's limits refused: the new run journals their removal,
        /// so a later restart does not bring back what this one never served.
        var refusedIDs: [String] = []

        /// What was read from damaged files lives only in memory until a new snapshot holds it.
        var needsSnapshot: Bool { !damagedFiles.isEmpty }
    }

    /// Loads the snapshot, then replays every journal at or after its generation in order (see
    /// `Replay` for what comes back), and loads the survivors with a lease of their TTL from `now`,
    /// the most recently registered first where limits cannot hold them all.
    static func run(directory: JournalDirectory, registry: Registry, now: Instant, log: Log) throws(SystemCallError)
        -> Outcome
    {
        let start = Posix.monotonicNanoseconds()
        let listing = try directory.list()
        var report = RecoveryReport()
        var outcome = Outcome(
            report: report, activeJournal: nil, highestGeneration: listing.journals.last ?? 0, journalBytes: 0)
        var replay = Replay()
        if listing.hasTemporarySnapshot {
            try Posix.unlink(directory.temporarySnapshotPath)
            report.removedFiles.append(directory.temporarySnapshotPath)
            log.info("journal: removed \(directory.temporarySnapshotPath), left by an interrupted compaction")
        }
        var firstGeneration: UInt64 = 0
        if listing.hasSnapshot {
            let loaded = try SnapshotFile.read(directory.snapshotPath, into: &replay)
            report.snapshotInstances = loaded.instances
            report.snapshotGeneration = loaded.generation
            report.skippedRanges += loaded.skipped.map { .init(file: directory.snapshotPath, start: $0.start, end: $0.end) }
            // With neither header nor end readable, replay every journal there is: journals older
            // than the snapshot only remain after a crash mid-compaction, and replaying them is safe.
            firstGeneration = loaded.generation ?? (listing.journals.first ?? 0)
            outcome.highestGeneration = max(outcome.highestGeneration, firstGeneration)
            if let problem = loaded.problem {
                let moved = directory.corruptPath(for: directory.snapshotPath)
                outcome.damagedFiles.append(.init(file: directory.snapshotPath, offset: 0, reason: problem, movedTo: moved))
                log.error(
                    "journal: \(directory.snapshotPath) is damaged (\(problem)); kept the \(loaded.instances) "
                        + "intact instances around the damage; the file goes to \(moved)")
            }
        }
        for generation in listing.journals {
            let path = directory.journalPath(generation)
            guard generation >= firstGeneration else {
                try Posix.unlink(path)
                report.removedFiles.append(path)
                log.info("journal: removed \(path): the snapshot already holds it")
                continue
            }
            var records = 0
            let scan = try FileScanner.scan(path: path) { event in
                switch event {
                case .entry(.snapshotHeader, _), .entry(.snapshotEnd, _):
                    return false
                case .entry(let entry, _):
                    replay.apply(entry)
                    if entry.isTableRecord { records += 1 }
                case .skipped:
                    replay.damaged()
                }
                return true
            }
            report.journalFiles += 1
            report.journalRecords += records
            outcome.journalBytes += scan.goodEnd
            outcome.activeJournal = (generation, scan.goodEnd)
            if let tail = scan.tornTail {
                try truncate(path, to: scan.goodEnd)
                let dropped = scan.fileSize - scan.goodEnd
                report.tornTails.append(.init(file: path, offset: scan.goodEnd, droppedBytes: dropped, reason: tail))
                log.warning("journal: cut a torn tail off \(path) at byte \(scan.goodEnd) (\(dropped) bytes: \(tail))")
            }
            guard let first = scan.skipped.first else { continue }
            report.skippedRanges += scan.skipped.map { .init(file: path, start: $0.start, end: $0.end) }
            let moved = directory.corruptPath(for: path)
            outcome.damagedFiles.append(.init(file: path, offset: first.start, reason: first.reason, movedTo: moved))
            let ranges = scan.skipped.map { "\($0.start)-\($0.end) (\($0.reason))" }.joined(separator: ", ")
            log.error(
                "journal: \(path) is damaged: skipped bytes \(ranges) and kept the \(records) intact records around "
                    + "them; the file goes to \(moved)")
        }
        let survivors = replay.survivors()
        report.endedBeforeStop = replay.ended
        report.unconfirmedAfterDamage = replay.unconfirmed
        outcome.indexHighWater = replay.indexHighWater
        if replay.unconfirmed > 0 {
            log.warning(
                "journal: left out \(replay.unconfirmed) instances registered before damaged bytes: the damage may "
                    + "have held their deregistration (they register again on their next heartbeat's 404)")
        }
        // Past every index handed out before the stop: marks record the index at most a mark
        // interval before it, and no server hands out a billion indexes in that time.
        if replay.indexHighWater > 0 { registry.raiseIndex(atLeast: replay.indexHighWater + Self.indexGap) }
        outcome.refusedIDs = registry.load(
            survivors.map { LeaseTable.Recovered(spec: $0, deadline: now.adding(seconds: Int64($0.ttl))) }, now: now)
        report.refused = outcome.refusedIDs.count
        if report.refused > 0 {
            log.warning(
                "journal: the table refused \(report.refused) recovered registrations (instance limits); the oldest "
                    + "registrations gave way")
        }
        report.corruptFiles = outcome.damagedFiles
        report.instances = registry.count
        report.nanoseconds = Posix.monotonicNanoseconds() - start
        outcome.report = report
        return outcome
    }

    /// How far past the last recorded watch index a restarted server starts.
    static let indexGap: UInt64 = 1_000_000_000

    /// Cuts `path` back to `length` bytes, durably.
    private static func truncate(_ path: String, to length: Int) throws(SystemCallError) {
        let descriptor = FileDescriptor(taking: try Posix.openForAppending(path))
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in
            try Posix.truncate(fd, to: length)
            try Posix.fsync(fd)
        }
    }

    /// After damage: writes a snapshot of the recovered table at `generation` (whose journal
    /// exists, empty), then moves the damaged files aside and removes the journals before it.
    ///
    /// The order is what makes it safe. A damaged snapshot is copied aside, not renamed, because the
    /// new one replaces it in one rename: a crash leaves the damaged one in place (and this repair
    /// runs again) or the new one. Damaged journals are moved only once the new snapshot holds
    /// their prefix: a crash before that finds them again; a crash after the snapshot but before
    /// the move removes them as older than the snapshot (the forensic copy is lost, no data is).
    static func repair(
        _ outcome: Outcome, generation: UInt64, registry: Registry, now: Instant, timeline: Timeline,
        compaction: Compaction
    ) throws(SystemCallError) -> SnapshotFile.Written {
        let directory = compaction.directory
        for damaged in outcome.damagedFiles where damaged.file == directory.snapshotPath {
            try Files.writeAtomically(damaged.movedTo, try Files.read(damaged.file))
        }
        let (entries, index) = registry.functionEntries()
        let written = try SnapshotFile.write(
            entries, generation: generation, liveAt: now,
            mark: JournalEntry.Mark(time: timeline.milliseconds(now), index: index, finalStop: false), timeline: timeline,
            directory: directory, fileSystem: compaction.fileSystem)
        for damaged in outcome.damagedFiles where damaged.file != directory.snapshotPath {
            try Posix.rename(damaged.file, to: damaged.movedTo)
        }
        try Files.syncDirectory(directory.path)
        for old in try directory.list().journals where old < generation {
            try compaction.fileSystem.remove(directory.journalPath(old))
        }
        return written
    }
}
