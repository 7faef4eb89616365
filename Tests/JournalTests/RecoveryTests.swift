import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// Replay semantics: what a restart gives back, in what order, with what lease.
@Suite struct RecoveryTests {
    @Test func aMissingDataDirectoryIsCreatedAndStartsEmpty() throws {
        let parent = try TemporaryDirectory()
        let path = parent.file("nested/data")
        let log = CapturedLog()
        let store = try JournalStore.open(
            directory: path, registry: Registry(), log: log.log, clock: TestClock().function)
        #expect(store.recovery.instances == 0 && store.recovery.journalFiles == 0 && store.recovery.snapshotGeneration == nil)
        #expect(store.recovery.tornTails.isEmpty && store.recovery.corruptFiles.isEmpty && store.recovery.removedFiles.isEmpty)
        #expect(Files.exists("\(path)/\(TemporaryDirectory.journal(1))"))
        #expect(log.contains("info", "recovered 0 instances", path))
        store.close()
    }

    @Test func replayAppliesRecordsInJournalOrder() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        var replacement = makeSpec(1)
        replacement.port = 9999
        replacement.meta = [MetaEntry(key: "build", value: "2")]
        #expect(store.registerWaiting(makeSpec(1)).succeeded)
        #expect(store.registerWaiting(makeSpec(2)).succeeded)
        #expect(store.registerWaiting(makeSpec(3)).succeeded)
        #expect(store.registerWaiting(replacement).succeeded)
        #expect(store.deregisterWaiting("i2").succeeded)
        store.close()

        let registry = Registry()
        let reopened = try openStore(directory, registry: registry)
        #expect(tableContents(registry) == ["i1": replacement, "i3": makeSpec(3)])
        #expect(reopened.recovery.journalRecords == 5)
        reopened.close()
    }

    @Test func recoveredInstancesGetAFullTTLFromTheMomentOfRecovery() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        #expect(store.registerWaiting(makeSpec(1, ttl: 30)).succeeded)
        store.close()
        // Down for longer than the lease: the instance still gets a whole TTL to heartbeat.
        clock.advance(seconds: 100)
        let registry = Registry()
        let reopened = try openStore(directory, registry: registry, clock: clock)
        let instance = try #require(registry.instance(id: "i1", now: clock.now))
        #expect(instance.deadline == clock.now.adding(seconds: 30))
        reopened.close()
    }

    @Test func aSummaryLineReportsInstancesRecordsAndTime() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        for index in 0..<7 { store.registerWaiting(makeSpec(index)) }
        store.deregisterWaiting("i0")
        store.close()
        let log = CapturedLog()
        let reopened = try openStore(directory, log: log)
        #expect(reopened.recovery.instances == 6)
        #expect(reopened.recovery.journalRecords == 8)
        #expect(log.contains("info", "recovered 6 instances", "8 journal records", " ms"))
        reopened.close()
    }

    @Test func registrationsTheTableRefusesOnReplayAreCountedAndLogged() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        for index in 0..<5 { store.registerWaiting(makeSpec(index)) }
        store.close()
        let log = CapturedLog()
        let registry = Registry(limits: LeaseLimits(maxInstances: 3))
        let reopened = try openStore(directory, registry: registry, log: log)
        #expect(registry.count == 3)
        #expect(reopened.recovery.refused == 2)
        #expect(log.contains("warning", "refused 2"))
        reopened.close()
    }

    @Test func anUnusableDataDirectoryIsAnErrorNamingIt() throws {
        let directory = try TemporaryDirectory()
        let notADirectory = directory.file("file")
        try writeFile(notADirectory, [1])
        #expect(throws: JournalError.self) {
            try JournalStore.open(
                directory: notADirectory + "/data", registry: Registry(), log: CapturedLog().log,
                clock: TestClock().function)
        }
    }
}
