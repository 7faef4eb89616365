import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// A full disk, a read-only file system or an I/O error: the batch is refused with `.unavailable`
/// (the HTTP layer's 503), nothing of it is applied, no half record stays in the file, and the
/// store recovers by itself once a write succeeds.
@Suite struct WriteFailureTests {
    static let journal = TemporaryDirectory.journal(1)

    @Test(arguments: [
        FaultyFileSystem.Fault(operation: .append, errno: .noSpace, partialBytes: 11),
        FaultyFileSystem.Fault(operation: .append, errno: .readOnlyFileSystem),
        FaultyFileSystem.Fault(operation: .sync, errno: Errno(rawValue: 5)),  // EIO
    ])
    func aFailedWriteRefusesTheBatchAppliesNothingAndLeavesNoHalfRecord(_ fault: FaultyFileSystem.Fault) throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, fileSystem: fileSystem)
        #expect(store.registerWaiting(makeSpec(1)).succeeded)
        let goodSize = try readFile(directory.file(Self.journal)).count

        fileSystem.inject(fault)
        let refused = store.registerWaiting(makeSpec(2))
        #expect(refused.failure == .unavailable("journal: \(fault.errno)"))
        #expect(fileSystem.pendingFaults == 0, "the fault was hit")
        #expect(registry.instance(id: "i2", now: TestClock().now) == nil, "a refused registration is not applied")
        #expect(store.unavailableReason == "journal: \(fault.errno)")
        #expect(try readFile(directory.file(Self.journal)).count == goodSize, "cut back to the last good record")
        #expect(registry.instance(id: "i1", now: TestClock().now) != nil, "earlier instances keep answering")
        #expect(store.counters.failedBatches.load(ordering: .relaxed) == 1)

        // The next operation retries and succeeds; the store is available again.
        #expect(store.registerWaiting(makeSpec(3)).succeeded)
        #expect(store.unavailableReason == nil)
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(Set(tableContents(again).keys) == ["i1", "i3"])
        #expect(reopened.recovery.tornTails.isEmpty && reopened.recovery.corruptFiles.isEmpty)
        reopened.close()
    }

    @Test func aDeregistrationThatCannotBeWrittenLeavesTheInstanceInPlace() throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, fileSystem: fileSystem)
        #expect(store.registerWaiting(makeSpec(1)).succeeded)
        fileSystem.inject(.init(operation: .sync, errno: .noSpace))
        #expect(store.deregisterWaiting("i1").failure == .unavailable("journal: \(Errno.noSpace)"))
        #expect(registry.count == 1)
        store.close()
        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(again.count == 1)
        reopened.close()
    }

    @Test func whenTheFileCannotBeCutBackWritesStayRefusedUntilItCan() throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let log = CapturedLog()
        let store = try openStore(directory, log: log, fileSystem: fileSystem)
        #expect(store.registerWaiting(makeSpec(1)).succeeded)
        let goodSize = try readFile(directory.file(Self.journal)).count
        fileSystem.inject(.init(operation: .append, errno: .noSpace, partialBytes: 7))
        fileSystem.inject(.init(operation: .truncate, errno: Errno(rawValue: 5), times: 2))
        #expect(store.registerWaiting(makeSpec(2)).failure == .unavailable("journal: \(Errno.noSpace)"))
        #expect(try readFile(directory.file(Self.journal)).count == goodSize + 7, "a half record is left for now")
        // Writing would succeed now, but not after a half record: refused until the cut works.
        #expect(store.registerWaiting(makeSpec(3)).failure == .unavailable("journal: \(Errno(rawValue: 5))"))
        #expect(store.unavailableReason == "journal: \(Errno(rawValue: 5))")
        #expect(store.registerWaiting(makeSpec(4)).succeeded)
        #expect(store.unavailableReason == nil)
        #expect(log.contains("info", "writable again"))
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(Set(tableContents(again).keys) == ["i1", "i4"])
        #expect(reopened.recovery.tornTails.isEmpty && reopened.recovery.corruptFiles.isEmpty)
        reopened.close()
    }

    @Test func aLongOutageIsLoggedOnceNotOncePerRequest() throws {
        let directory = try TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let log = CapturedLog()
        let store = try openStore(directory, log: log, fileSystem: fileSystem)
        fileSystem.inject(.init(operation: .append, errno: .noSpace, times: 20))
        for index in 0..<20 { #expect(!store.registerWaiting(makeSpec(index)).succeeded) }
        #expect(log.all.filter { $0.contains(" error ") && $0.contains("refusing") }.count == 1)
        #expect(store.registerWaiting(makeSpec(99)).succeeded)
        store.close()
    }
}

extension FaultyFileSystem.Fault: CustomTestStringConvertible {
    var testDescription: String { "\(operation) fails with \(errno)" + (partialBytes > 0 ? " after \(partialBytes) bytes" : "") }
}
