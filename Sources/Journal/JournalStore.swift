import Primitives
import Leases
import PosixIO
import Synchronization

/// The durable `RegistrationStore` of `--data DIR`: registrations and deregistrations are on disk
/// before they are acknowledged, and recovered at the next start.
///
/// Callers on any thread enqueue; one writer thread commits everything queued with one write and
/// one fsync (group commit), applies it to the registry in journal order, and calls the
/// completions on its own thread. Heartbeats touch only the registry. See `Journal.swift` for the
/// format and the crash-safety argument. Call `close()` when done: the writer thread keeps the
/// store alive until then.
package final class JournalStore: RegistrationStore {
    package typealias Completion = @Sendable (Result<Instance, StoreError>) -> Void

    package let registry: Registry
    /// What start-up recovered and repaired.
    package let recovery: RecoveryReport
    package let counters: JournalCounters
    private let clock: @Sendable () -> Instant
    private let shared: JournalShared
    fileprivate let queue = Locked(Queue())
    private let wakeup: Wakeup
    private let writerThread = Locked<ThreadHandle?>(nil)
    /// Held while the store is open: one server per data directory.
    private let directoryLock: Locked<FileLock?>

    /// Operations waiting for the writer.
    fileprivate struct Queue {
        var operations: [PendingOperation] = []
        /// The writer found nothing to do and sleeps on `wakeup`: the next enqueue must signal it.
        var writerAsleep = false
        var closed = false
        /// A mark is wanted now, whether due or not (`writeMarkNow`).
        var markRequested = false
    }

    /// Opens (creating it if missing) the data directory, recovers the table into `registry`, and
    /// starts the writer thread.
    ///
    /// - Throws: `JournalError` when the directory cannot be created, read or repaired. Damaged
    ///   data is not an error: it is repaired, logged, and reported in `recovery`.
    package static func open(
        directory path: String, registry: Registry, log: Log, clock: @escaping @Sendable () -> Instant,
        options: JournalOptions = JournalOptions()
    ) throws(JournalError) -> JournalStore {
        let directory = JournalDirectory(path: path)
        let counters = JournalCounters()
        let shared = JournalShared()
        let outcome: Recovery.Outcome
        let lock: FileLock
        let recoveredAt = clock()
        let timeline = Timeline(wallMilliseconds: options.wallClockMilliseconds(), monotonic: recoveredAt)
        do throws(SystemCallError) {
            try Files.makeDirectories(path)
        } catch {
            throw JournalError("\(error)")
        }
        do throws(FileLock.Failure) {
            lock = try FileLock(path: directory.lockPath)
        } catch {
            switch error {
            case .held(let pid):
                throw JournalError(
                    "the data directory \(path) is in use by another beacon (pid \(pid.map(String.init) ?? "unknown"), "
                        + "holding \(directory.lockPath)); one server per data directory")
            case .system(let failure):
                throw JournalError("cannot lock \(directory.lockPath): \(failure)")
            }
        }
        do throws(SystemCallError) {
            outcome = try Recovery.run(directory: directory, registry: registry, now: recoveredAt, log: log)
        } catch {
            throw JournalError("\(error)")
        }
        let report = outcome.report
        // Recovery's temporary tables are gone: return their memory rather than keep it resident.
        Posix.releaseFreeMemory()
        let wakeup: Wakeup
        do throws(SystemCallError) {
            wakeup = try Wakeup()
        } catch {
            throw JournalError("\(error)")
        }
        log.info(
            "journal: recovered \(report.instances) instances from \(path) in "
                + "\((Double(report.nanoseconds) / 1e6).formatted2) ms (snapshot: \(report.snapshotInstances) instances; "
                + "\(report.journalRecords) journal records replayed from \(report.journalFiles) files; "
                + "\(report.endedBeforeStop) left out whose lease had ended by the stop; "
                + "\(report.tornTails.count) torn tails cut, \(report.corruptFiles.count) damaged files moved aside)")
        let store = JournalStore(
            registry: registry, recovery: report, counters: counters, clock: clock, shared: shared, wakeup: wakeup,
            lock: lock)
        do throws(SystemCallError) {
            var writer = try prepareWriter(
                directory: directory, outcome: outcome, registry: registry, log: log, clock: clock,
                options: options, counters: counters, shared: shared, timeline: timeline)
            if let failure = writer.startRun(
                recoveredAt: recoveredAt, epochIndex: registry.read { $0.lastIndex }, refusedIDs: outcome.refusedIDs)
            {
                throw SystemCallError(call: "journal: cannot start a run: \(failure)", errno: .ioError)
            }
            store.startWriter(writer)
        } catch where Self.meansReadOnly(error.errno) {
            // The table was read: serve it (DNS answers, reads work) and refuse writes with 503
            // rather than refuse to start, as a disk that went read-only or full at runtime does.
            let reason = "journal: cannot write to \(path): \(error.errno)"
            shared.unavailable.withLock { $0 = reason }
            store.queue.withLock { $0.closed = true }
            log.error("\(reason); serving the recovered table, refusing registrations until restarted on a writable directory")
        } catch {
            throw JournalError("\(error)")
        }
        return store
    }

    /// Errors that mean "this directory cannot take writes now", not "this data is unusable".
    private static func meansReadOnly(_ errno: Errno) -> Bool {
        [Errno.readOnlyFileSystem, .permissionDenied, .notPermitted, .noSpace, .quotaExceeded, .ioError].contains(errno)
    }

    /// Opens the journal to append to (repairing damaged data first) and builds the writer.
    private static func prepareWriter(
        directory: JournalDirectory, outcome: Recovery.Outcome, registry: Registry, log: Log,
        clock: @escaping @Sendable () -> Instant, options: JournalOptions, counters: JournalCounters,
        shared: JournalShared, timeline: Timeline
    ) throws(SystemCallError) -> JournalWriter {
        let fileSystem = options.fileSystem
        let generation: UInt64
        let file: any JournalFile
        var bytesSinceSnapshot = outcome.journalBytes
        if let active = outcome.activeJournal, !outcome.needsSnapshot {
            generation = active.generation
            file = try fileSystem.openForAppending(directory.journalPath(generation), truncating: false)
        } else {
            generation = outcome.highestGeneration + 1
            file = try fileSystem.openForAppending(directory.journalPath(generation), truncating: true)
            try fileSystem.syncDirectory(directory.path)
        }
        if outcome.needsSnapshot {
            let compaction = Compaction(
                directory: directory, fileSystem: fileSystem, log: log, counters: counters, shared: shared)
            let written = try Recovery.repair(
                outcome, generation: generation, registry: registry, now: clock(), timeline: timeline,
                compaction: compaction)
            bytesSinceSnapshot = 0
            log.info(
                "journal: wrote a fresh snapshot of the recovered table (\(written.instances) instances) and "
                    + "moved \(outcome.damagedFiles.count) damaged files aside")
        }
        return JournalWriter(
            directory: directory, options: options, registry: registry, log: log, clock: clock,
            counters: counters, shared: shared, file: file, generation: generation, size: try file.size(),
            bytesSinceSnapshot: bytesSinceSnapshot, timeline: timeline)
    }

    private init(
        registry: Registry, recovery: RecoveryReport, counters: JournalCounters, clock: @escaping @Sendable () -> Instant,
        shared: JournalShared, wakeup: Wakeup, lock: FileLock
    ) {
        directoryLock = Locked(lock)
        self.registry = registry
        self.recovery = recovery
        self.counters = counters
        self.clock = clock
        self.shared = shared
        self.wakeup = wakeup
    }

    // MARK: - RegistrationStore

    package func register(_ spec: InstanceSpec, allowedServices: Set<String>?, completion: @escaping Completion) {
        enqueue(.register(spec, allowedServices: allowedServices, completion))
    }

    /// Not journaled here: the writer journals renewals lazily, before a lease's written deadline
    /// comes near (`LeaseMarks.swift`), so heartbeats cost no disk write of their own.
    package func renew(id: String, completion: @escaping Completion) {
        completion(renewImmediately(id: id)!)
    }

    package func renewImmediately(id: String) -> Result<Instance, StoreError>? {
        registry.renew(id: id, now: clock()).map { .success($0) } ?? .failure(.lease(.unknownInstance(id)))
    }

    package func deregister(id: String, completion: @escaping Completion) {
        enqueue(.deregister(id, completion))
    }

    package var unavailableReason: String? { shared.unavailable.withLock { $0 } }

    /// Commits everything already queued, stops the writer and waits for a running compaction.
    /// Later operations fail with `.unavailable`. Writes nothing else: what is on disk after
    /// `close` is exactly what a crash right after the last commit would leave.
    package func close() {
        let wake = queue.withLock { queue in
            queue.closed = true
            defer { queue.writerAsleep = false }
            return queue.writerAsleep
        }
        if wake { wakeup.signal() }
        writerThread.withLock { handle in
            let thread = handle
            handle = nil
            return thread
        }?.join()
        shared.joinCompaction()
        directoryLock.withLock { $0 = nil }
    }

    /// Whether a compaction is writing a snapshot now (tests wait for it to end).
    package var isCompacting: Bool { shared.compactionRunning.load(ordering: .acquiring) }

    // MARK: - The writer thread

    private func enqueue(_ operation: PendingOperation) {
        let outcome: (accepted: Bool, wake: Bool) = queue.withLock { queue in
            guard !queue.closed else { return (false, false) }
            queue.operations.append(operation)
            defer { queue.writerAsleep = false }
            return (true, queue.writerAsleep)
        }
        if !outcome.accepted {
            operation.completion(.failure(.unavailable(shared.unavailable.withLock { $0 } ?? "journal: closed")))
        }
        if outcome.wake { wakeup.signal() }
    }

    private func startWriter(_ writer: consuming JournalWriter) {
        let thread = Threads.start(name: "beacon-journal") { [self, writer] in
            var writer = writer
            run(&writer)
        }
        writerThread.withLock { $0 = thread }
    }

    /// Takes everything queued, commits it, calls the completions outside every lock, repeats;
    /// sleeps when the queue is empty; ends once closed and drained.
    /// Makes the writer write its renewals and a mark now (tests use it to take a crash image at a
    /// known point).
    package func writeMarkNow() {
        let wake = queue.withLock { queue in
            queue.markRequested = true
            defer { queue.writerAsleep = false }
            return queue.writerAsleep
        }
        if wake { wakeup.signal() }
    }

    private enum Next {
        case commit, mark, idle, stop
    }

    private func run(_ writer: inout JournalWriter) {
        var batch: [PendingOperation] = []
        while true {
            writer.compactIfDue()
            let next: Next = queue.withLock { queue in
                if queue.markRequested {
                    queue.markRequested = false
                    return .mark
                }
                if queue.operations.isEmpty {
                    if queue.closed { return .stop }
                    queue.writerAsleep = true
                    return .idle
                }
                swap(&queue.operations, &batch)
                return .commit
            }
            switch next {
            case .stop:
                // A clean stop: the last renewals and a final mark, so the next start is exact.
                if writer.lastMark != nil { writer.writeMark(finalStop: true) }
                return
            case .mark:
                writer.writeMark(finalStop: false)
            case .idle:
                let now = clock()
                if let due = writer.nextMarkDue(now: now) {
                    if due <= now {
                        writer.writeMark(finalStop: false)
                        queue.withLock { $0.writerAsleep = false }
                    } else {
                        wakeup.wait(milliseconds: Int((due.nanoseconds - now.nanoseconds) / 1_000_000) + 1)
                    }
                } else {
                    wakeup.wait()
                }
            case .commit:
                let finished = writer.commit(batch)
                batch.removeAll(keepingCapacity: true)
                for (completion, result) in finished { completion(result) }
            }
        }
    }
}
