import Primitives
import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// Snapshots fold the journals away without losing anything, whatever step a crash interrupts.
@Suite struct CompactionTests {
    /// Registers, replaces and deregisters, keeping the expected table in `model`.
    static func churn(_ store: JournalStore, _ range: Range<Int>, model: inout [String: InstanceSpec]) {
        for index in range {
            let spec = makeSpec(index)
            #expect(store.registerWaiting(spec).succeeded)
            model[spec.id] = spec
            if index % 5 == 4 {
                #expect(store.deregisterWaiting("i\(index - 2)").succeeded)
                model["i\(index - 2)"] = nil
            }
            if index % 7 == 6 {
                var replacement = makeSpec(index - 1)
                replacement.port = 4242
                #expect(store.registerWaiting(replacement).succeeded)
                model[replacement.id] = replacement
            }
        }
    }

    /// The generation named in a snapshot file's header.
    static func snapshotGeneration(_ path: String) throws -> UInt64? {
        let bytes = try readFile(path)
        guard case .frame(.snapshotHeader(let generation), _) = bytes.withUnsafeBytes({ Frame.check($0) }) else {
            return nil
        }
        return generation
    }

    @Test func afterCompactionAReopenedStoreHasTheSameTable() throws {
        let directory = try TemporaryDirectory()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, threshold: 2000)
        var model: [String: InstanceSpec] = [:]
        Self.churn(store, 0..<150, model: &model)
        store.close()
        #expect(differences(tableContents(registry), model).isEmpty)
        #expect(store.counters.compactions.load(ordering: .relaxed) >= 2)
        #expect(store.counters.compactionFailures.load(ordering: .relaxed) == 0)
        let generation = try #require(try Self.snapshotGeneration(directory.file("snapshot")))
        let journals = directory.names.filter { $0.hasPrefix("journal-") }
        #expect(journals.allSatisfy { $0 >= TemporaryDirectory.journal(generation) }, "\(journals) vs \(generation)")
        #expect(!directory.names.contains("snapshot.tmp"))

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(differences(tableContents(again), model).isEmpty)
        #expect(reopened.recovery.snapshotGeneration == generation)
        #expect(reopened.recovery.snapshotInstances > 0)
        #expect(reopened.recovery.removedFiles.isEmpty)
        reopened.close()
    }

    /// Each step of compaction, named by the operation that fails there.
    static let steps: [(String, FaultyFileSystem.Fault)] = [
        ("creating the next journal", .init(operation: .open, path: TemporaryDirectory.journal(2))),
        ("syncing the directory after creating it", .init(operation: .syncDirectory)),
        ("creating snapshot.tmp", .init(operation: .open, path: "snapshot.tmp")),
        ("writing snapshot.tmp half-way", .init(operation: .append, path: "snapshot.tmp", partialBytes: 100)),
        ("syncing snapshot.tmp", .init(operation: .sync, path: "snapshot.tmp")),
        ("renaming it over snapshot", .init(operation: .rename, path: "snapshot.tmp")),
        ("syncing the directory after the rename", .init(operation: .syncDirectory, skip: 1)),
        ("removing the old journal", .init(operation: .remove, path: TemporaryDirectory.journal(1))),
    ]

    @Test(arguments: 0..<steps.count)
    func aFailureOrCrashAtAnyStepOfCompactionLosesNothing(_ step: Int) throws {
        let (name, fault) = Self.steps[step]
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, threshold: 1500, fileSystem: fileSystem)
        fileSystem.inject(fault)
        var model: [String: InstanceSpec] = [:]
        // About 1.5 thresholds of journal: one compaction attempt, then more writes after it.
        Self.churn(store, 0..<30, model: &model)
        store.close()
        #expect(fileSystem.pendingFaults == 0, "\(name): the fault was never reached")
        #expect(store.counters.compactionFailures.load(ordering: .relaxed) == 1, "\(name)")
        #expect(differences(tableContents(registry), model).isEmpty, "\(name)")

        // Whatever the failure left on disk is what a crash at that step leaves.
        let again = Registry()
        let log = CapturedLog()
        let reopened = try openStore(directory, registry: again, log: log)
        #expect(differences(tableContents(again), model).isEmpty, "\(name)")
        #expect(reopened.recovery.corruptFiles.isEmpty && reopened.recovery.tornTails.isEmpty, "\(name)")
        #expect(!directory.names.contains("snapshot.tmp"), "\(name)")
        reopened.close()
        // And it stays whole through one more restart.
        let third = Registry()
        try openStore(directory, registry: third).close()
        #expect(differences(tableContents(third), model).isEmpty, "\(name)")
    }

    @Test func leftoversOfAnInterruptedCompactionAreNeverReplayed() throws {
        let a = makeSpec(1)
        let b = makeSpec(2)
        let c = makeSpec(3)
        let ghost = makeSpec(666)
        // A complete, valid snapshot.tmp that was never renamed: ignored and removed.
        do {
            let directory = try TemporaryDirectory()
            try writeFile(directory.file(TemporaryDirectory.journal(1)), framed([.register(a)]))
            try writeFile(
                directory.file("snapshot.tmp"),
                framed([.snapshotHeader(generation: 2), .register(ghost), .snapshotEnd(count: 1)]))
            let registry = Registry()
            let store = try openStore(directory, registry: registry)
            #expect(tableContents(registry) == [a.id: a])
            #expect(store.recovery.removedFiles == [directory.file("snapshot.tmp")])
            store.close()
        }
        // A snapshot at generation 2 with journal 1 not yet removed: journal 1 is removed unread.
        do {
            let directory = try TemporaryDirectory()
            try writeFile(
                directory.file("snapshot"), framed([.snapshotHeader(generation: 2), .register(a), .snapshotEnd(count: 1)]))
            try writeFile(directory.file(TemporaryDirectory.journal(1)), framed([.register(ghost)]))
            try writeFile(directory.file(TemporaryDirectory.journal(2)), framed([.register(b)]))
            let registry = Registry()
            let store = try openStore(directory, registry: registry)
            #expect(tableContents(registry) == [a.id: a, b.id: b])
            #expect(store.recovery.removedFiles == [directory.file(TemporaryDirectory.journal(1))])
            #expect(store.recovery.snapshotGeneration == 2 && store.recovery.journalFiles == 1)
            store.close()
        }
        // A crash right after a later compaction created journal 3: snapshot 2, journals 2 and 3.
        do {
            let directory = try TemporaryDirectory()
            try writeFile(
                directory.file("snapshot"), framed([.snapshotHeader(generation: 2), .register(a), .snapshotEnd(count: 1)]))
            try writeFile(directory.file(TemporaryDirectory.journal(2)), framed([.register(b), .deregister(id: a.id)]))
            try writeFile(directory.file(TemporaryDirectory.journal(3)), framed([.register(c)]))
            let registry = Registry()
            let store = try openStore(directory, registry: registry)
            #expect(tableContents(registry) == [b.id: b, c.id: c])
            #expect(store.registerWaiting(a).succeeded)
            store.close()
            // Appended after what was there: the run's epoch and marks, and the registration.
            let appended = entries(of: try readFile(directory.file(TemporaryDirectory.journal(3))))
            #expect(appended.first == .register(c))
            #expect(appended.contains { if case .epoch = $0 { true } else { false } })
            #expect(appended.contains { if case .register(a, .some) = $0 { true } else { false } })
        }
    }

    @Test func writesGoOnWhileASnapshotIsBeingWritten() throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, threshold: 1000, fileSystem: fileSystem)
        let entered = try Wakeup()
        let released = try Wakeup()
        fileSystem.hook.withLock {
            $0 = { operation, path in
                guard operation == .sync, path.hasSuffix("snapshot.tmp") else { return }
                entered.signal()
                released.wait()
            }
        }
        var model: [String: InstanceSpec] = [:]
        var index = 0
        while !store.isCompacting {
            let spec = makeSpec(index)
            #expect(store.registerWaiting(spec).succeeded)
            model[spec.id] = spec
            index += 1
            #expect(index < 1000)
        }
        entered.wait()
        // The snapshot thread is stuck in its fsync; registrations still complete meanwhile.
        for extra in 1000..<1010 {
            let spec = makeSpec(extra)
            #expect(store.registerWaiting(spec).succeeded)
            model[spec.id] = spec
        }
        #expect(store.isCompacting)
        released.signal()
        store.close()
        #expect(store.counters.compactions.load(ordering: .relaxed) == 1)
        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(differences(tableContents(again), model).isEmpty)
        #expect(reopened.recovery.snapshotGeneration == 2)
        reopened.close()
    }

    @Test func aSnapshotLeavesOutInstancesWhoseLeaseHasEnded() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock, threshold: 1000)
        #expect(store.registerWaiting(makeSpec(1, ttl: 5)).succeeded)
        clock.advance(seconds: 10)
        var index = 2
        while store.counters.compactions.load(ordering: .relaxed) == 0 {
            #expect(store.registerWaiting(makeSpec(index, ttl: 60)).succeeded)
            index += 1
            if index > 1000 { break }
            _ = eventually { !store.isCompacting }
        }
        store.close()
        let registry = Registry()
        let reopened = try openStore(directory, registry: registry, clock: clock)
        #expect(registry.instance(id: "i1", now: clock.now) == nil)
        #expect(registry.count == index - 2)
        reopened.close()
    }
}
