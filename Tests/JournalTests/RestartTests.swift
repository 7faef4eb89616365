import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// The promises across a restart: nothing acknowledged is lost, nothing whose lease had ended comes
/// back, and dead instances never take a live one's place under a limit. A clean stop is `close()`;
/// a crash is a copy of the directory taken while the store runs (what SIGKILL leaves: everything
/// written so far, nothing more).
@Suite struct RestartTests {
    /// The files of `directory` as they are now, copied into a fresh directory (the lock left behind).
    static func crashImage(of directory: TemporaryDirectory) throws -> TemporaryDirectory {
        let image = try TemporaryDirectory()
        for name in directory.names where name != "lock" {
            try writeFile(image.file(name), try readFile(directory.file(name)))
        }
        return image
    }

    /// Opens a store on `directory` (a stopped server's, or a crash image), closes it, and returns
    /// the ids it recovered.
    static func idsAfterRestart(on directory: TemporaryDirectory, clock: TestClock) throws -> Set<String> {
        let registry = Registry()
        try openStore(directory, registry: registry, clock: clock).close()
        return Set(tableContents(registry).keys)
    }

    /// Has the writer write a mark at the clock's present time, and waits for it.
    static func waitForMark(_ store: JournalStore) {
        let before = store.counters.marks.load(ordering: .acquiring)
        store.writeMarkNow()
        #expect(eventually { store.counters.marks.load(ordering: .acquiring) > before })
    }

    @Test func anInstanceWhoseLeaseEndedBeforeACleanStopIsNotBroughtBack() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        #expect(store.registerWaiting(makeSpec(1, ttl: 2)).succeeded)
        #expect(store.registerWaiting(makeSpec(2, ttl: 30)).succeeded)
        clock.advance(seconds: 3)
        store.close()

        let registry = Registry()
        let reopened = try openStore(directory, registry: registry, clock: clock)
        #expect(Set(tableContents(registry).keys) == ["i2"])
        #expect(reopened.recovery.endedBeforeStop == 1)
        reopened.close()
    }

    @Test func anInstanceWhoseLeaseEndedBeforeACrashIsNotBroughtBack() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        #expect(store.registerWaiting(makeSpec(1, ttl: 2)).succeeded)
        #expect(store.registerWaiting(makeSpec(2, ttl: 30)).succeeded)
        clock.advance(seconds: 3)
        Self.waitForMark(store)
        let image = try Self.crashImage(of: directory)
        store.close()

        #expect(try Self.idsAfterRestart(on: image, clock: clock) == ["i2"])
    }

    @Test func heartbeatsKeepAnInstanceAcrossACrashWithoutAWriteEach() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        #expect(store.registerWaiting(makeSpec(1, ttl: 4)).succeeded)
        #expect(store.registerWaiting(makeSpec(2, ttl: 4)).succeeded)
        // i1 heartbeats every second for 20 s; i2 never does.
        for _ in 0..<20 {
            clock.advance(seconds: 1)
            #expect(store.renewImmediately(id: "i1")?.succeeded == true)
            Self.waitForMark(store)
        }
        let renewals = entries(of: try readFile(directory.file(TemporaryDirectory.journal(1)))).filter {
            if case .renew = $0 { true } else { false }
        }
        #expect(renewals.count < 20, "renewals are written lazily, not per heartbeat (\(renewals.count))")
        let image = try Self.crashImage(of: directory)
        store.close()

        #expect(try Self.idsAfterRestart(on: image, clock: clock) == ["i1"])
    }

    @Test func churnThenRestartBringsBackExactlyTheLive() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        var live = Set<String>()
        for round in 0..<30 {
            for index in 0..<20 {
                let number = round * 20 + index
                #expect(store.registerWaiting(makeSpec(number, ttl: UInt32(1 + number % 3))).succeeded)
            }
            if round % 5 == 4 { #expect(store.deregisterWaiting("i\(round * 20)").succeeded) }
            clock.advance(seconds: 1)
            Self.waitForMark(store)
        }
        let now = clock.now
        live = Set(tableContents(store.registry).filter { store.registry.instance(id: $0.key, now: now) != nil }.keys)
        let image = try Self.crashImage(of: directory)
        store.close()

        for candidate in [image, directory] {
            let registry = Registry()
            let reopened = try openStore(candidate, registry: registry, clock: clock)
            let recovered = Set(tableContents(registry).keys)
            #expect(recovered.isSubset(of: live), "nothing ended comes back: \(recovered.subtracting(live).sorted())")
            reopened.close()
        }
        // After the clean stop the rule is exact.
        let exact = Registry()
        try openStore(directory, registry: exact, clock: clock).close()
        #expect(Set(tableContents(exact).keys) == live)
    }

    /// The reproduction from the issue: a function at its limit with expired instances, then a live
    /// registration; after the restart the live one is there and no dead one is.
    @Test func deadInstancesNeverTakeALiveOnesPlaceUnderALimit() throws {
        let limits = LeaseLimits(maxInstancesPerFunction: 50)
        for crash in [false, true] {
            let directory = try TemporaryDirectory()
            let clock = TestClock()
            let store = try openStore(directory, registry: Registry(limits: limits), clock: clock)
            for wave in 0..<2 {
                for index in 0..<50 {
                    #expect(store.registerWaiting(makeSpec(wave * 50 + index, function: "f", ttl: 1)).succeeded)
                }
                clock.advance(seconds: 2)
                Self.waitForMark(store)
            }
            #expect(store.registerWaiting(makeSpec(1000, function: "f", ttl: 300)).succeeded, "dead ones do not count")
            Self.waitForMark(store)
            let source = crash ? try Self.crashImage(of: directory) : directory
            store.close()

            let registry = Registry(limits: limits)
            let reopened = try openStore(source, registry: registry, clock: clock)
            #expect(Set(tableContents(registry).keys) == ["i1000"], crash ? "after a crash" : "after a stop")
            #expect(reopened.registerWaiting(makeSpec(1001, function: "f", ttl: 300)).succeeded)
            reopened.close()
        }
    }

    @Test func whereLimitsCannotHoldEverythingTheLatestRegistrationsWin() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        for index in 0..<10 { #expect(store.registerWaiting(makeSpec(index, function: "f")).succeeded) }
        store.close()
        // Restarted with a lower limit: the four most recent registrations are kept.
        let registry = Registry(limits: LeaseLimits(maxInstancesPerFunction: 4))
        let reopened = try openStore(directory, registry: registry, clock: clock)
        #expect(Set(tableContents(registry).keys) == ["i6", "i7", "i8", "i9"])
        #expect(reopened.recovery.refused == 6)
        reopened.close()
        // The refused ones were removed in the journal: a later start does not bring them back.
        let again = Registry()
        try openStore(directory, registry: again, clock: clock).close()
        #expect(Set(tableContents(again).keys) == ["i6", "i7", "i8", "i9"])
    }

    @Test func recoveredInstancesKeepTheirGraceAcrossASecondRestart() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        #expect(store.registerWaiting(makeSpec(1, ttl: 10)).succeeded)
        store.close()
        // Down 8 s: it had 2 s left at the stop and gets a new TTL of grace at the restart.
        clock.advance(seconds: 8)
        let middle = try openStore(directory, clock: clock)
        clock.advance(seconds: 5)
        Self.waitForMark(middle)
        let image = try Self.crashImage(of: directory)
        middle.close()
        // Crashed 5 s into its 10 s grace: still within it.
        #expect(try Self.idsAfterRestart(on: image, clock: clock) == ["i1"])
    }

    @Test func aWallClockSteppedBackDoesNotBringTheDeadBackNorLowerTheIndex() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let wall = Atomic<Int64>(1_800_000_000_000)
        let options = JournalOptions(wallClockMilliseconds: { wall.load(ordering: .relaxed) })
        let first = Registry()
        let store = try JournalStore.open(
            directory: directory.path, registry: first, log: CapturedLog().log, clock: clock.function, options: options)
        #expect(store.registerWaiting(makeSpec(1, ttl: 2)).succeeded)
        #expect(store.registerWaiting(makeSpec(2, ttl: 60)).succeeded)
        let indexBefore = first.read { $0.lastIndex }
        clock.advance(seconds: 3)
        store.close()
        wall.store(1_800_000_000_000 - 3_600_000, ordering: .relaxed)  // an hour back
        let registry = Registry(initialIndex: 7)
        let reopened = try JournalStore.open(
            directory: directory.path, registry: registry, log: CapturedLog().log, clock: clock.function,
            options: options)
        #expect(Set(tableContents(registry).keys) == ["i2"])
        #expect(registry.read { $0.lastIndex } > indexBefore, "the watch index never falls")
        #expect(registry.read { $0.index(of: FunctionKey(service: "orders", function: "f2")) } > indexBefore)
        reopened.close()
    }

    @Test func aSecondStoreOnTheSameDirectoryIsRefusedAndNamesTheHolder() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        #expect(store.registerWaiting(makeSpec(1)).succeeded)
        do {
            _ = try openStore(directory)
            Issue.record("a second store opened the same directory")
        } catch {
            #expect("\(error)".contains(directory.path))
            #expect("\(error)".contains("pid \(Posix.processID)"))
        }
        #expect(store.registerWaiting(makeSpec(2)).succeeded, "the first keeps serving")
        store.close()
        // Once the first has closed, the directory is free.
        let registry = Registry()
        try openStore(directory, registry: registry).close()
        #expect(Set(tableContents(registry).keys) == ["i1", "i2"])
    }
}
