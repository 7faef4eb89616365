import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// Damage followed by intact records is not an interrupted append: recovery keeps the prefix,
/// moves the file aside for a person to look at, writes a fresh snapshot, and starts.
@Suite struct CorruptionTests {
    static func journalDirectory(records: Int) throws -> (TemporaryDirectory, [UInt8]) {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        for index in 0..<records { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        store.close()
        return (directory, try readFile(directory.file(TemporaryDirectory.journal(1))))
    }

    @Test(arguments: ["a flipped payload byte", "an impossible length"])
    func damageInTheMiddleKeepsThePrefixAndMovesTheFileAside(_ kind: String) throws {
        let (directory, bytes) = try Self.journalDirectory(records: 10)
        let offsets = frameOffsets(bytes)
        var damaged = bytes
        if kind == "an impossible length" {
            damaged[offsets[4] + 3] = 0x7F
        } else {
            damaged[offsets[4] + Frame.headerSize + 6] ^= 0x01
        }
        let path = directory.file(TemporaryDirectory.journal(1))
        try writeFile(path, damaged)
        let log = CapturedLog()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, log: log)
        #expect(Set(tableContents(registry).keys) == Set((0..<4).map { "i\($0)" }))
        #expect(store.recovery.tornTails.isEmpty)
        #expect(store.recovery.corruptFiles.count == 1)
        let corrupt = try #require(store.recovery.corruptFiles.first)
        #expect(corrupt.file == path)
        #expect(corrupt.offset == offsets[4])
        #expect(corrupt.movedTo.hasPrefix(path + ".corrupt-"))
        #expect(try readFile(corrupt.movedTo) == damaged, "the damaged file is kept as it was")
        #expect(!Files.exists(path))
        #expect(Files.exists(directory.file("snapshot")), "the prefix is on disk again before writes are taken")
        #expect(log.contains("error", path, "at byte \(offsets[4])", corrupt.movedTo))
        #expect(store.registerWaiting(makeSpec(50)).succeeded)
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(reopened.recovery.corruptFiles.isEmpty && reopened.recovery.tornTails.isEmpty)
        #expect(Set(tableContents(again).keys) == Set((0..<4).map { "i\($0)" } + ["i50"]))
        #expect(tableContents(again)["i3"] == makeSpec(3))
        reopened.close()
    }

    /// A directory holding a snapshot (generation 2) and a journal after it.
    static func snapshotDirectory() throws -> (TemporaryDirectory, [String: InstanceSpec]) {
        let directory = try TemporaryDirectory()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, threshold: 1500)
        for index in 0..<30 { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        #expect(eventually { store.counters.compactions.load(ordering: .relaxed) >= 1 && !store.isCompacting })
        // The threshold must not be crossed again: these stay in the journal after the snapshot.
        for index in 30..<33 { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        store.close()
        return (directory, tableContents(registry))
    }

    @Test func aDamagedSnapshotKeepsItsReadablePrefixAndIsCopiedAside() throws {
        let (directory, _) = try Self.snapshotDirectory()
        let snapshotPath = directory.file("snapshot")
        let bytes = try readFile(snapshotPath)
        let offsets = frameOffsets(bytes)
        #expect(offsets.count >= 10)
        // Ids in the frames before the damaged one (frame 0 is the header).
        let damagedFrame = 5
        let before: [String] = offsets[1..<damagedFrame].map { offset in
            let check = Array(bytes[offset...]).withUnsafeBytes { Frame.check($0) }
            guard case .frame(.register(let spec, _), _) = check else { return "?" }
            return spec.id
        }
        var damaged = bytes
        damaged[offsets[damagedFrame] + Frame.headerSize + 4] ^= 0x10
        try writeFile(snapshotPath, damaged)
        let journalIDs = ["i30", "i31", "i32"]

        let log = CapturedLog()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, log: log)
        #expect(Set(tableContents(registry).keys) == Set(before + journalIDs))
        let corrupt = try #require(store.recovery.corruptFiles.first)
        #expect(corrupt.file == snapshotPath)
        #expect(try readFile(corrupt.movedTo) == damaged)
        #expect(log.contains("error", snapshotPath, "at byte \(offsets[damagedFrame])"))
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(reopened.recovery.corruptFiles.isEmpty)
        #expect(Set(tableContents(again).keys) == Set(before + journalIDs))
        reopened.close()
    }

    @Test func aSnapshotWithoutItsEndRecordIsReportedAndItsRecordsKept() throws {
        let (directory, table) = try Self.snapshotDirectory()
        let snapshotPath = directory.file("snapshot")
        let bytes = try readFile(snapshotPath)
        let cut = Array(bytes[..<frameOffsets(bytes).last!])
        try writeFile(snapshotPath, cut)
        let registry = Registry()
        let store = try openStore(directory, registry: registry)
        #expect(tableContents(registry) == table, "every record before the missing end is kept")
        #expect(store.recovery.corruptFiles.first?.reason.contains("no end record") == true)
        store.close()
    }
}
