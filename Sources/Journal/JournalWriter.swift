import Primitives
import Leases
import PosixIO
import Synchronization

/// The writer thread's state and its one job: commit a batch.
///
/// Owned by the writer thread alone (it is moved into the thread's closure), so none of it is
/// locked. `size` is the journal's last good length: everything before it is intact and synced,
/// and a failed append is cut back to it.
struct JournalWriter: Sendable {
    let directory: JournalDirectory
    let fileSystem: any JournalFileSystem
    let registry: Registry
    let log: Log
    let clock: @Sendable () -> Instant
    let counters: JournalCounters
    let shared: JournalShared
    let compactionThreshold: Int

    var file: any JournalFile
    var generation: UInt64
    var size: Int
    /// Journal bytes since the last snapshot (all generations): what compaction would fold away.
    var bytesSinceSnapshot: Int
    /// Compact when `bytesSinceSnapshot` reaches this; moved on after a failed attempt.
    var nextCompactionAt: Int
    /// A failed append could not be cut back: nothing may be appended until it is.
    var needsRepair = false
    /// Reused for every batch, so a steady load allocates nothing here.
    var buffer: [UInt8] = []
    /// This run's timeline: what deadlines and marks are written in.
    let timeline: Timeline
    /// Every journaled instance by the deadline last written for it (entries go stale when an
    /// instance is replaced or removed, and are skipped as they come up). See `LeaseMarks.swift`.
    var writtenDeadlines = DeadlineHeap<Instance>()
    /// When the last mark was written, and the index it recorded.
    var lastMark: Instant?
    var lastMarkedIndex: UInt64 = 0

    init(
        directory: JournalDirectory, options: JournalOptions, registry: Registry, log: Log,
        clock: @escaping @Sendable () -> Instant, counters: JournalCounters, shared: JournalShared,
        file: any JournalFile, generation: UInt64, size: Int, bytesSinceSnapshot: Int, timeline: Timeline
    ) {
        self.timeline = timeline
        self.directory = directory
        fileSystem = options.fileSystem
        compactionThreshold = options.compactionThreshold
        self.registry = registry
        self.log = log
        self.clock = clock
        self.counters = counters
        self.shared = shared
        self.file = file
        self.generation = generation
        self.size = size
        self.bytesSinceSnapshot = bytesSinceSnapshot
        nextCompactionAt = options.compactionThreshold
    }

    typealias Finished = (JournalStore.Completion, Result<Instance, StoreError>)

    /// Plans, writes, syncs and applies one batch; returns the completions to call, in order.
    ///
    /// Refused operations (limits, unknown ids) never reach the file. If the write or the sync
    /// fails, every operation written in this batch fails with `.unavailable` and none is applied.
    mutating func commit(_ operations: [PendingOperation]) -> [Finished] {
        buffer.removeAll(keepingCapacity: true)
        // A mark that is due goes first, in the same write and fsync as the batch.
        if isMarkDue(now: clock()) { appendRenewalsAndMark(now: clock(), finalStop: false) }
        let decisions = registry.read { BatchPlanner.plan(operations, table: $0, now: clock()) }
        var written = 0
        // Read before the write: the lease starts when the registration is applied, after the
        // fsync, so a written deadline is never later than the real one.
        let stampedAt = clock()
        for decision in decisions {
            if case .write(let entry, _) = decision {
                Frame.append(stamped(entry, at: stampedAt), to: &buffer)
                written += 1
            }
        }
        let failure = buffer.isEmpty ? nil : appendAndSync()
        let now = clock()
        var finished: [Finished] = []
        finished.reserveCapacity(operations.count)
        for (operation, decision) in zip(operations, decisions) {
            let result: Result<Instance, StoreError>
            switch decision {
            case .refuse(let error):
                result = .failure(error)
            case .write where failure != nil:
                result = .failure(.unavailable(failure!))
            case .write(.register(let spec, _), _):
                result = apply(spec, now: now, written: stampedAt.adding(seconds: Int64(spec.ttl)))
            case .write(.deregister(let id), let found):
                if let instance = registry.deregister(id: id, now: now) ?? found {
                    result = .success(instance)
                } else {
                    result = .failure(.lease(.unknownInstance(id)))
                }
            case .write:
                preconditionFailure("the planner only writes registers and deregisters")
            }
            finished.append((operation.completion, result))
        }
        if failure == nil { counters.records.add(UInt64(written), ordering: .relaxed) }
        return finished
    }

    /// A registration as journaled: with its lease's end as of `now`.
    private func stamped(_ entry: JournalEntry, at now: Instant) -> JournalEntry {
        guard case .register(let spec, _) = entry else { return entry }
        return .register(spec, deadline: timeline.milliseconds(now.adding(seconds: Int64(spec.ttl))))
    }

    private mutating func apply(_ spec: InstanceSpec, now: Instant, written deadline: Instant)
        -> Result<Instance, StoreError>
    {
        do throws(LeaseError) {
            let instance = try registry.register(spec, now: now).instance
            writtenDeadlines.push(deadline: deadline.nanoseconds, instance)
            return .success(instance)
        } catch {
            // The planner checked the same limits; reaching this means the table changed behind it.
            log.error("journal: the table refused journaled registration \(spec.id) after the planner accepted it: \(error)")
            return .failure(.lease(error))
        }
    }

    /// Appends the buffer and syncs it. Returns nil, or the reason the batch is refused.
    /// - Parameter isBatch: false for marks written on their own (counted apart from batches).
    mutating func appendAndSync(isBatch: Bool = true) -> String? {
        if needsRepair {
            do throws(SystemCallError) {
                try file.truncate(to: size)
                needsRepair = false
                log.info("journal: cut \(file.path) back to its last good size, \(size) bytes")
            } catch {
                counters.failedBatches.add(1, ordering: .relaxed)
                return refuse("journal: \(error.errno)", detail: "cannot cut \(file.path) back to \(size) bytes: \(error)")
            }
        }
        do throws(SystemCallError) {
            try file.append(buffer)
            let syncStart = Posix.monotonicNanoseconds()
            try file.sync()
            counters.syncLatency.record( Posix.monotonicNanoseconds() - syncStart)
        } catch {
            counters.failedBatches.add(1, ordering: .relaxed)
            // Leave no half record behind for a later append to follow: recovery would take the
            // half record for corruption in the middle.
            do throws(SystemCallError) {
                try file.truncate(to: size)
            } catch let truncation {
                needsRepair = true
                log.error("journal: cannot cut \(file.path) back to \(size) bytes: \(truncation); refusing until it can")
            }
            return refuse("journal: \(error.errno)", detail: "\(file.path): \(error)")
        }
        size += buffer.count
        bytesSinceSnapshot += buffer.count
        if isBatch { counters.batches.add(1, ordering: .relaxed) } else { counters.marks.add(1, ordering: .relaxed) }
        counters.syncs.add(1, ordering: .relaxed)
        counters.bytes.add(UInt64(buffer.count), ordering: .relaxed)
        let previous = shared.unavailable.withLock { reason in
            let previous = reason
            reason = nil
            return previous
        }
        if let previous { log.info("journal: writable again (was: \(previous))") }
        return nil
    }

    /// Records that writes are refused; logs once per change of reason rather than once per batch.
    private func refuse(_ reason: String, detail: String) -> String {
        let changed = shared.unavailable.withLock { current in
            defer { current = reason }
            return current != reason
        }
        if changed {
            log.error("journal: \(detail); refusing registrations and deregistrations (503) until a write succeeds")
        }
        return reason
    }
}

extension PendingOperation {
    var completion: JournalStore.Completion {
        switch self {
        case .register(_, _, let completion), .deregister(_, let completion): completion
        }
    }
}
