import Leases
import PosixIO

/// The snapshot: every live instance as of the start of one journal generation.
///
/// Layout: a `snapshotHeader(generation)` frame, a `mark` (when it was taken, the watch index), one
/// `register` frame per instance with its deadline, and a `snapshotEnd(count, generation)` frame.
/// It is only ever written as `snapshot.tmp` and renamed into place after an fsync, so a crash
/// leaves the old snapshot or the new one, never a mixture; the end frame and its count still let
/// a reader notice a file that lost its tail anyway, and damage inside costs only the frames it hit.
enum SnapshotFile {
    /// Flush the buffer to the file past this many bytes: bounded memory for any table size.
    static let flushThreshold = 1 << 20

    struct Written: Sendable {
        var instances: Int
        var bytes: Int
    }

    /// Writes the instances of `entries` live at `now` to `snapshot.tmp`, syncs it, renames it over
    /// `snapshot`, and syncs the directory. On failure the old snapshot (if any) is still in place.
    ///
    /// - Parameters:
    ///   - mark: when the copy was taken and the watch index then, on the run's timeline.
    ///   - timeline: turns a lease's deadline into the run's timeline.
    static func write(
        _ entries: [FunctionEntry], generation: UInt64, liveAt now: Instant, mark: JournalEntry.Mark,
        timeline: Timeline, directory: JournalDirectory, fileSystem: any JournalFileSystem
    ) throws(SystemCallError) -> Written {
        let file = try fileSystem.openForAppending(directory.temporarySnapshotPath, truncating: true)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(flushThreshold + Frame.maximumPayload + Frame.headerSize)
        var written = Written(instances: 0, bytes: 0)
        Frame.append(.snapshotHeader(generation: generation), to: &buffer)
        Frame.append(.mark(mark), to: &buffer)
        for entry in entries {
            for instance in entry.instances where instance.isLive(at: now) {
                // Read now, not at the copy: a later deadline is still one the lease really has.
                Frame.append(.register(instance.spec, deadline: timeline.milliseconds(instance.deadline)), to: &buffer)
                written.instances += 1
            }
            if buffer.count >= flushThreshold {
                try file.append(buffer)
                written.bytes += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        Frame.append(.snapshotEnd(count: UInt64(written.instances), generation: generation), to: &buffer)
        try file.append(buffer)
        written.bytes += buffer.count
        try file.sync()
        try fileSystem.rename(directory.temporarySnapshotPath, to: directory.snapshotPath)
        try fileSystem.syncDirectory(directory.path)
        return written
    }

    /// What reading a snapshot found.
    struct Loaded: Sendable {
        /// From the header, or from the end record when the header is damaged; nil when neither is readable.
        var generation: UInt64?
        /// Registrations read.
        var instances: Int
        /// Stretches skipped as damaged (each cost at most the registrations it held).
        var skipped: [FileScan.Skipped]
        /// Why the file is not a whole snapshot; nil when it is.
        var problem: String?
    }

    /// Reads a snapshot into `replay`, salvaging every intact registration around damage.
    static func read(_ path: String, into replay: inout Replay) throws(SystemCallError) -> Loaded {
        var loaded = Loaded(generation: nil, instances: 0, skipped: [], problem: nil)
        var sawHeader = false
        var endCount: UInt64? = nil
        let scan = try FileScanner.scan(path: path) { event in
            guard case .entry(let entry, _) = event else { return true }  // a snapshot holds no deregisters
            switch entry {
            case .snapshotHeader(let generation) where !sawHeader && loaded.instances == 0:
                sawHeader = true
                loaded.generation = generation
            case .mark where endCount == nil:
                replay.apply(entry)
            case .register where endCount == nil:
                loaded.instances += 1
                replay.apply(entry)
            case .snapshotEnd(let count, let generation) where endCount == nil:
                endCount = count
                if loaded.generation == nil { loaded.generation = generation }
            default:
                return false
            }
            return true
        }
        loaded.skipped = scan.skipped
        var problems = scan.skipped.map { "\($0.reason) at bytes \($0.start)-\($0.end)" }
        if let tail = scan.tornTail { problems.append("\(tail) (cut short)") }
        if endCount == nil, scan.tornTail == nil {
            problems.append("no end record (cut short at byte \(scan.fileSize))")
        } else if let endCount, scan.skipped.isEmpty, endCount != UInt64(loaded.instances) {
            problems.append("end record counts \(endCount) instances but \(loaded.instances) precede it")
        }
        if !problems.isEmpty { loaded.problem = problems.joined(separator: "; ") }
        return loaded
    }
}

/// The writing run's timeline: its wall clock read once at start, moved on by the monotonic clock,
/// in milliseconds. Clock steps during a run do not show in it (see `JournalEntry`).
package struct Timeline: Sendable {
    let wallMilliseconds: Int64
    let monotonic: Instant

    package init(wallMilliseconds: Int64, monotonic: Instant) {
        self.wallMilliseconds = wallMilliseconds
        self.monotonic = monotonic
    }

    /// The system's wall clock in milliseconds since 1970 (negative before it).
    package static let wallClockMilliseconds: @Sendable () -> Int64 = {
        Int64((Posix.wallClockSeconds() * 1000).rounded(.down))
    }

    /// `instant` on this timeline. Deadlines round down: a written deadline is never later than the lease.
    func milliseconds(_ instant: Instant) -> Int64 {
        let delta = instant.nanoseconds &- monotonic.nanoseconds
        let milliseconds = delta >= 0 ? delta / 1_000_000 : -((-delta + 999_999) / 1_000_000)
        return wallMilliseconds &+ milliseconds
    }
}
