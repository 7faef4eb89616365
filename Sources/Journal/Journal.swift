// Journal: makes the lease table survive a crash, with an append-only checksummed journal,
// snapshots, and recovery at start.
//
// Conventions. All I/O goes through PosixIO (no Foundation). One writer thread owns the journal:
// callers enqueue registers and deregisters, and the writer takes everything queued, writes it
// with one `write` and one `fdatasync` (group commit), then applies it to the `Registry` in
// journal order and calls the completions, on its own thread. Nothing is applied or acknowledged
// before it is durable. Heartbeats are not journaled one by one: each registration carries its
// lease's end, and the writer adds marks and lazy renewals (`LeaseMarks.swift`) from which recovery
// tells a lease that had ended at the stop from a live one (`Replay.swift`). Decoding never traps:
// every length is checked against what remains, and a record that fails any check counts as damage.
//
// On disk, in the data directory:
//
//     journal-<generation, 16 hex digits>.log   frames appended in commit order
//     snapshot                                  the live table as of the start of one generation
//     snapshot.tmp                              a snapshot being written; never read
//     lock                                      flock'ed by the running server (one per directory)
//     <name>.corrupt-<unix seconds>             a damaged file moved aside; never read
//
// Every entry is a frame: u32 payload length, u32 CRC-32C of the length bytes and the payload
// (both little-endian), then the payload, which starts with a version byte (1) and a kind byte
// (`JournalEntry.encode` gives the fields). A snapshot is a header frame naming its generation
// G, a mark, one register frame per live instance (with its lease's end), and an end frame with
// the count and G again; it holds the effect of every journal before G. Recovery loads the
// snapshot, then replays journals G, G+1, ... in order (`Replay`), leaves out what had ended when
// the server stopped, and registers the rest at the current time so each gets a full TTL of
// grace; the new run then writes an epoch saying so. A torn tail (no intact frame after the
// damage) is cut off; damage with intact frames after it is skipped (salvage: every intact frame
// is kept, with the damage rule in `Replay`), a fresh snapshot of the recovered table is written,
// and only then is the damaged file moved aside (`Recovery.repair` says why in that order), all
// before taking writes.
//
// Compaction, started by the writer once `compactionThreshold` journal bytes have accumulated
// since the last snapshot, and why a crash between any two steps loses nothing:
//
//  1. Create journal N+1 and fsync the directory; new batches go there from now on.
//     Crash: the old snapshot plus journals up to N and an empty or partial N+1 replay as before.
//  2. Copy the table's function entries under its lock, between two batches, so the copy holds
//     exactly journals up to N. Entries are immutable, so this costs one pointer per function.
//  3. On a background thread, write `snapshot.tmp` (header G=N+1, records, end) and fsync it.
//     Crash: `snapshot.tmp` is ignored and removed at start; the old snapshot and journals remain.
//  4. Rename it over `snapshot` and fsync the directory. The rename is atomic: a crash shows the
//     old snapshot (with every journal it needs, none removed yet) or the new one (whose
//     generation makes recovery skip journals before N+1).
//  5. Remove journals before N+1. Crash part-way: the leftovers are older than the snapshot's
//     generation, so recovery removes them rather than replaying them.
//
// A failed step leaves the files exactly as a crash there would, so the tests inject a failure
// at each step and recover. A failed write or fsync of the journal refuses that whole batch
// (503) and truncates the file back to its last good size before the next attempt.
import Primitives
import Leases
import PosixIO
import Synchronization

/// How a `JournalStore` behaves; the defaults suit a server.
package struct JournalOptions: Sendable {
    /// Compact once this many journal bytes have been written since the last snapshot.
    package var compactionThreshold: Int
    /// Where the running store's writes go. Tests pass one that fails on cue.
    package var fileSystem: any JournalFileSystem
    /// The wall clock in milliseconds, read once at start for the run's timeline. Tests step it.
    package var wallClockMilliseconds: @Sendable () -> Int64

    package init(
        compactionThreshold: Int = 64 << 20, fileSystem: any JournalFileSystem = PosixFileSystem(),
        wallClockMilliseconds: @escaping @Sendable () -> Int64 = Timeline.wallClockMilliseconds
    ) {
        self.compactionThreshold = compactionThreshold
        self.fileSystem = fileSystem
        self.wallClockMilliseconds = wallClockMilliseconds
    }
}

/// Why the journal could not be opened: the data directory cannot be created, read or repaired.
package struct JournalError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Totals since the store opened, for tests, benchmarks and `/metrics`.
package final class JournalCounters: Sendable {
    /// Batches written; each is one `write` and one `fdatasync`.
    package let batches = Atomic<UInt64>(0)
    /// Marks written on their own, when no batch carried them (`LeaseMarks.swift`).
    package let marks = Atomic<UInt64>(0)
    package let syncs = Atomic<UInt64>(0)
    /// Registers and deregisters journaled (not refused ones, not heartbeats).
    package let records = Atomic<UInt64>(0)
    package let bytes = Atomic<UInt64>(0)
    /// Batches refused because a write or fsync failed.
    package let failedBatches = Atomic<UInt64>(0)
    package let compactions = Atomic<UInt64>(0)
    package let compactionFailures = Atomic<UInt64>(0)
    /// How long the last compaction held the table's lock to copy it.
    package let lastCompactionPauseNanoseconds = Atomic<Int64>(0)
    /// How long the last compaction took, from the copy to the old journals' removal.
    package let lastCompactionNanoseconds = Atomic<Int64>(0)
    /// How long each fdatasync of the journal took.
    package let syncLatency = Histogram()

    package init() {}
}

/// State the writer thread shares with callers and the compaction thread.
final class JournalShared: Sendable {
    /// Why writes are refused, or nil while they succeed.
    let unavailable = Locked<String?>(nil)
    let compactionRunning = Atomic<Bool>(false)
    /// The last compaction thread started, joined before the next one starts and at close.
    let compactionThread = Locked<ThreadHandle?>(nil)

    /// Waits for the running compaction, if any, to finish.
    func joinCompaction() {
        compactionThread.withLock { handle in
            let thread = handle
            handle = nil
            return thread
        }?.join()
    }
}
