import Primitives
import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// One writer, one write and one fsync per batch; nothing applied or acknowledged before its fsync.
@Suite struct GroupCommitTests {
    @Test func concurrentRegistrationsAllCompleteWithFarFewerFsyncsThanOperations() throws {
        let directory = try TemporaryDirectory()
        let registry = Registry()
        let store = try openStore(directory, registry: registry)
        let threads = 8
        let perThread = 250
        let failures = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let finished = try Wakeup()
        let handles = (0..<threads).map { thread in
            Threads.start(name: "submit-\(thread)") {
                for index in 0..<perThread {
                    store.register(makeSpec(thread * perThread + index)) { result in
                        if !result.succeeded { failures.add(1, ordering: .relaxed) }
                        if done.add(1, ordering: .acquiringAndReleasing).newValue == threads * perThread {
                            finished.signal()
                        }
                    }
                }
            }
        }
        for handle in handles { handle.join() }
        while done.load(ordering: .acquiring) < threads * perThread { finished.wait() }
        let operations = threads * perThread
        let syncs = Int(store.counters.batches.load(ordering: .relaxed))
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(registry.count == operations)
        #expect(Int(store.counters.records.load(ordering: .relaxed)) == operations)
        #expect(syncs >= 1 && syncs * 4 <= operations, "\(syncs) fsyncs for \(operations) registrations")
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(differences(tableContents(again), tableContents(registry)).isEmpty)
        reopened.close()
    }

    @Test func threadsThatEachWaitForTheirAcknowledgementShareFsyncs() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let threads = 16
        let perThread = 40
        let failures = Atomic<Int>(0)
        let handles = (0..<threads).map { thread in
            Threads.start(name: "client-\(thread)") {
                for index in 0..<perThread where !store.registerWaiting(makeSpec(thread * perThread + index)).succeeded {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        for handle in handles { handle.join() }
        #expect(failures.load(ordering: .relaxed) == 0)
        let syncs = Int(store.counters.batches.load(ordering: .relaxed))
        #expect(store.registry.count == threads * perThread)
        #expect(syncs * 2 <= threads * perThread, "\(syncs) fsyncs for \(threads * perThread) acknowledged registrations")
        store.close()
    }

    @Test func nothingIsAppliedBeforeItsFsyncReturns() throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, fileSystem: fileSystem)
        let seenAtSync = Locked<[Int]>([])
        fileSystem.hook.withLock {
            $0 = { operation, _ in
                if operation == .sync { seenAtSync.withLock { $0.append(registry.count) } }
            }
        }
        for index in 0..<5 { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        #expect(seenAtSync.withLock { $0 } == [0, 1, 2, 3, 4])
        store.close()
    }

    /// Holds the writer inside its first fsync until `release`, so the next operations queue up
    /// and form one batch.
    final class Gate: Sendable {
        let entered = try! Wakeup()
        let released = try! Wakeup()
        let armed = Atomic<Bool>(true)

        func install(on fileSystem: FaultyFileSystem) {
            fileSystem.hook.withLock {
                $0 = { [self] operation, _ in
                    guard operation == .sync, armed.exchange(false, ordering: .acquiringAndReleasing) else { return }
                    entered.signal()
                    released.wait()
                }
            }
        }
    }

    @Test func aBatchIsCheckedInOrderAgainstItsOwnEarlierOperations() throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let registry = Registry(limits: LeaseLimits(maxInstances: 3))
        let store = try openStore(directory, registry: registry, fileSystem: fileSystem)
        let gate = Gate()
        gate.install(on: fileSystem)
        let results = Locked<[String: Result<Instance, StoreError>]>([:])
        let completed = Atomic<Int>(0)
        func submit(_ name: String, _ call: (@escaping JournalStore.Completion) -> Void) {
            call { result in
                results.withLock { $0[name] = result }
                completed.add(1, ordering: .releasing)
            }
        }
        submit("first") { store.register(makeSpec(0), completion: $0) }
        gate.entered.wait()
        // These all queue behind the held fsync and are committed as one batch.
        submit("x") { store.register(makeSpec(1), completion: $0) }
        submit("drop x") { store.deregister(id: "i1", completion: $0) }
        submit("drop x again") { store.deregister(id: "i1", completion: $0) }
        submit("y") { store.register(makeSpec(2), completion: $0) }
        submit("z") { store.register(makeSpec(3), completion: $0) }
        submit("one too many") { store.register(makeSpec(4), completion: $0) }
        submit("unknown") { store.deregister(id: "nobody", completion: $0) }
        gate.released.signal()
        #expect(eventually { completed.load(ordering: .acquiring) == 8 })
        let outcome = results.withLock { $0 }
        #expect(outcome["first"]?.succeeded == true)
        #expect(outcome["x"]?.succeeded == true)
        #expect(outcome["drop x"]?.succeeded == true)
        #expect(outcome["drop x again"]?.failure == .lease(.unknownInstance("i1")))
        #expect(outcome["y"]?.succeeded == true)
        #expect(outcome["z"]?.succeeded == true)
        #expect(outcome["one too many"]?.failure == .lease(.tooManyInstances(limit: 3)))
        #expect(outcome["unknown"]?.failure == .lease(.unknownInstance("nobody")))
        #expect(store.counters.batches.load(ordering: .relaxed) == 2, "the queued operations form one batch")
        #expect(store.counters.records.load(ordering: .relaxed) == 5, "refused operations are not journaled")
        #expect(Set(tableContents(registry).keys) == ["i0", "i2", "i3"])
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(differences(tableContents(again), tableContents(registry)).isEmpty)
        #expect(reopened.recovery.journalRecords == 5)
        reopened.close()
    }

    @Test func heartbeatsAreAppliedAtOnceAndNotJournaled() throws {
        let directory = try TemporaryDirectory()
        let clock = TestClock()
        let store = try openStore(directory, clock: clock)
        #expect(store.registerWaiting(makeSpec(1, ttl: 10)).succeeded)
        let size = try readFile(directory.file(TemporaryDirectory.journal(1))).count
        clock.advance(seconds: 8)
        let renewed = waitFor { store.renew(id: "i1", completion: $0) }
        #expect(try renewed.get().deadline == clock.now.adding(seconds: 10))
        #expect(waitFor { store.renew(id: "nobody", completion: $0) }.failure == .lease(.unknownInstance("nobody")))
        #expect(store.counters.records.load(ordering: .relaxed) == 1)
        #expect(try readFile(directory.file(TemporaryDirectory.journal(1))).count == size)
        store.close()
    }

    @Test func operationsAfterCloseFailAsUnavailable() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        store.close()
        #expect(store.registerWaiting(makeSpec(1)).failure == .unavailable("journal: closed"))
        store.close()
    }
}
