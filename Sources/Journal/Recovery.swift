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

        /// What was read from damaged files lives only in memory until a new snapshot holds it.
        var needsSnapshot: Bool { !damagedFiles.isEmpty }
    }

    /// Loads the snapshot, then replays every journal at or after its generation in order,
    /// registering each instance at `now` (a full TTL of grace, as the contract promises).
    static func run(directory: JournalDirectory, registry: Registry, now: Instant, log: Log) throws(SystemCallError)
        -> Outcome
    {
        let start = Posix.monotonicNanoseconds()
        let listing = try directory.list()
        var report = RecoveryReport()
        var outcome = Outcome(
            report: report, activeJournal: nil, highestGeneration: listing.journals.last ?? 0, journalBytes: 0)
        // The table's final state is what counts: gather it (last write per id wins, a deregister
        // removes) and load it in one pass at the end, instead of a registration per record.
        var order: [String] = []
        var latest: [String: InstanceSpec] = [:]
        let apply = { (spec: InstanceSpec) in
            if latest.updateValue(spec, forKey: spec.id) == nil { order.append(spec.id) }
        }
        let remove = { (id: String) in latest[id] = nil }
        if listing.hasTemporarySnapshot {
            try Posix.unlink(directory.temporarySnapshotPath)
            report.removedFiles.append(directory.temporarySnapshotPath)
            log.info("journal: removed \(directory.temporarySnapshotPath), left by an interrupted compaction")
        }
        var firstGeneration: UInt64 = 0
        if listing.hasSnapshot {
            let loaded = try SnapshotFile.read(directory.snapshotPath, apply: apply)
            report.snapshotInstances = loaded.instances
            report.snapshotGeneration = loaded.generation
            firstGeneration = loaded.generation ?? 0
            outcome.highestGeneration = max(outcome.highestGeneration, firstGeneration)
            if let problem = loaded.problem {
                let moved = directory.corruptPath(for: directory.snapshotPath)
                outcome.damagedFiles.append(.init(file: directory.snapshotPath, offset: 0, reason: problem, movedTo: moved))
                log.error(
                    "journal: \(directory.snapshotPath) is damaged (\(problem)); kept the \(loaded.instances) "
                        + "instances before the damage; the file goes to \(moved)")
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
            let scan = try FileScanner.scan(path: path) { entry, _ in
                switch entry {
                case .register(let spec): apply(spec)
                case .deregister(let id): remove(id)
                case .snapshotHeader, .snapshotEnd: return false
                }
                records += 1
                return true
            }
            report.journalFiles += 1
            report.journalRecords += records
            outcome.journalBytes += scan.goodEnd
            outcome.activeJournal = (generation, scan.goodEnd)
            guard let damage = scan.damage else { continue }
            if damage.isTail {
                try truncate(path, to: damage.offset)
                let dropped = scan.fileSize - damage.offset
                report.tornTails.append(.init(file: path, offset: damage.offset, droppedBytes: dropped, reason: damage.reason))
                log.warning(
                    "journal: cut a torn tail off \(path) at byte \(damage.offset) (\(dropped) bytes: \(damage.reason))")
            } else {
                let moved = directory.corruptPath(for: path)
                outcome.damagedFiles.append(.init(file: path, offset: damage.offset, reason: damage.reason, movedTo: moved))
                log.error(
                    "journal: \(path) is damaged at byte \(damage.offset) (\(damage.reason)) with intact records "
                        + "from byte \(damage.nextFrame!); kept the \(records) records before it; the file goes to \(moved)")
            }
        }
        report.refused += registry.load(order.compactMap { latest[$0] }, now: now)
        if report.refused > 0 {
            log.warning("journal: the table refused \(report.refused) recovered registrations (instance limits)")
        }
        report.corruptFiles = outcome.damagedFiles
        report.instances = registry.count
        report.nanoseconds = Posix.monotonicNanoseconds() - start
        outcome.report = report
        return outcome
    }

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
        _ outcome: Outcome, generation: UInt64, registry: Registry, now: Instant, compaction: Compaction
    ) throws(SystemCallError) -> SnapshotFile.Written {
        let directory = compaction.directory
        for damaged in outcome.damagedFiles where damaged.file == directory.snapshotPath {
            try Files.writeAtomically(damaged.movedTo, try Files.read(damaged.file))
        }
        let written = try SnapshotFile.write(
            registry.functionEntries(), generation: generation, liveAt: now, directory: directory, fileSystem: compaction.fileSystem)
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
