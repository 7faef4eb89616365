import Primitives
import Leases
import PosixIO
import Synchronization

/// Folding the journals into a snapshot: steps 1-5 of the sequence in `Journal.swift`.
extension JournalWriter {
    /// Starts a compaction if enough journal has accumulated and none is running.
    ///
    /// Runs on the writer thread between batches: that is what makes the copy of the table hold
    /// exactly the journals before the new generation.
    mutating func compactIfDue() {
        guard bytesSinceSnapshot >= nextCompactionAt, !needsRepair, !shared.compactionRunning.load(ordering: .acquiring)
        else { return }
        let newGeneration = generation + 1
        let path = directory.journalPath(newGeneration)
        // Step 1: the new journal, durable in the directory before any record is acknowledged in it.
        let newFile: any JournalFile
        do throws(SystemCallError) {
            newFile = try fileSystem.openForAppending(path, truncating: false)
            let existing = try newFile.size()
            guard existing == 0 else {
                postponeCompaction("\(path) already holds \(existing) bytes")
                return
            }
            try fileSystem.syncDirectory(directory.path)
        } catch {
            postponeCompaction("cannot start \(path): \(error)")
            return
        }
        file = newFile
        generation = newGeneration
        size = 0
        bytesSinceSnapshot = 0
        nextCompactionAt = compactionThreshold
        // Step 2: one pointer per function under the lock; entries are immutable.
        let copyStart = Posix.monotonicNanoseconds()
        let now = clock()
        let (entries, index) = registry.functionEntries()
        let pause = Posix.monotonicNanoseconds() - copyStart
        let mark = JournalEntry.Mark(time: timeline.milliseconds(now), index: index, finalStop: false)
        let timeline = timeline
        counters.lastCompactionPauseNanoseconds.store(pause, ordering: .relaxed)
        // Steps 3-5 on their own thread, while new batches go to the new journal.
        shared.joinCompaction()
        shared.compactionRunning.store(true, ordering: .releasing)
        let task = Compaction(
            directory: directory, fileSystem: fileSystem, log: log, counters: counters, shared: shared)
        let thread = Threads.start(name: "beacon-snapshot") {
            task.run(entries, generation: newGeneration, liveAt: now, mark: mark, timeline: timeline, copyNanoseconds: pause)
        }
        shared.compactionThread.withLock { $0 = thread }
    }

    private mutating func postponeCompaction(_ reason: String) {
        log.error("journal: compaction postponed: \(reason)")
        counters.compactionFailures.add(1, ordering: .relaxed)
        nextCompactionAt = bytesSinceSnapshot + compactionThreshold
    }
}

/// Steps 3-5: write the snapshot, put it in place, remove the journals it replaces.
struct Compaction: Sendable {
    let directory: JournalDirectory
    let fileSystem: any JournalFileSystem
    let log: Log
    let counters: JournalCounters
    let shared: JournalShared

    /// On the compaction thread. A failure leaves the files as a crash at that step would: the
    /// journals since the last complete snapshot are all still there.
    func run(
        _ entries: [FunctionEntry], generation: UInt64, liveAt now: Instant, mark: JournalEntry.Mark, timeline: Timeline,
        copyNanoseconds: Int64
    ) {
        let start = Posix.monotonicNanoseconds()
        do throws(SystemCallError) {
            let written = try snapshotAndRemoveJournals(
                entries, generation: generation, liveAt: now, mark: mark, timeline: timeline)
            counters.compactions.add(1, ordering: .relaxed)
            counters.lastCompactionNanoseconds.store(Posix.monotonicNanoseconds() - start, ordering: .relaxed)
            let milliseconds = Double(Posix.monotonicNanoseconds() - start) / 1e6
            log.info(
                "journal: snapshot at generation \(generation): \(written.instances) instances, \(written.bytes) bytes "
                    + "in \(milliseconds.formatted2) ms (table copied under its lock in "
                    + "\((Double(copyNanoseconds) / 1e6).formatted2) ms)")
        } catch {
            counters.compactionFailures.add(1, ordering: .relaxed)
            log.error("journal: compaction to generation \(generation) failed: \(error); the journals are kept")
        }
        shared.compactionRunning.store(false, ordering: .releasing)
    }

    /// Writes the snapshot for `generation` and removes the journals before it.
    func snapshotAndRemoveJournals(
        _ entries: [FunctionEntry], generation: UInt64, liveAt now: Instant, mark: JournalEntry.Mark, timeline: Timeline
    ) throws(SystemCallError) -> SnapshotFile.Written {
        let written = try SnapshotFile.write(
            entries, generation: generation, liveAt: now, mark: mark, timeline: timeline, directory: directory,
            fileSystem: fileSystem)
        for old in try directory.list().journals where old < generation {
            try fileSystem.remove(directory.journalPath(old))
        }
        return written
    }
}

extension Double {
    /// Two decimals, for log lines (no Foundation formatting here).
    var formatted2: String {
        let hundredths = (self * 100).rounded()
        let whole = Int(hundredths / 100)
        let fraction = Int(abs(hundredths).truncatingRemainder(dividingBy: 100))
        return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
