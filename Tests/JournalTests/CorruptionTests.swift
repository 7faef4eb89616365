import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// Damage followed by intact records is not an interrupted append: recovery skips the damaged
/// bytes, keeps every intact record around them (salvage), moves the file aside for a person to look
/// at, writes a fresh snapshot, and starts. Damage may have held a deregistration, so what was
/// registered before it comes back only if a later record shows it was still there.
@Suite struct CorruptionTests {
    static func journalDirectory(records: Int) throws -> (TemporaryDirectory, [UInt8]) {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        for index in 0..<records { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        store.close()
        return (directory, try readFile(directory.file(TemporaryDirectory.journal(1))))
    }

    @Test(arguments: ["a flipped payload byte", "an impossible length"])
    func damageInTheMiddleIsSkippedAndTheIntactRecordsAfterItKept(_ kind: String) throws {
        let (directory, bytes) = try Self.journalDirectory(records: 10)
        let offsets = registrationOffsets(bytes)
        #expect(offsets.count == 10)
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
        // i4 is lost with its frame; i5-i9 come after the damage and are kept; i0-i3 were
        // registered before it, and the damaged bytes could have been their deregistration.
        #expect(Set(tableContents(registry).keys) == Set((5..<10).map { "i\($0)" }))
        #expect(store.recovery.unconfirmedAfterDamage == 4)
        #expect(store.recovery.tornTails.isEmpty)
        #expect(store.recovery.skippedRanges == [.init(file: path, start: offsets[4], end: offsets[5])])
        #expect(store.recovery.corruptFiles.count == 1)
        let corrupt = try #require(store.recovery.corruptFiles.first)
        #expect(corrupt.file == path)
        #expect(corrupt.offset == offsets[4])
        #expect(corrupt.movedTo.hasPrefix(path + ".corrupt-"))
        #expect(try readFile(corrupt.movedTo) == damaged, "the damaged file is kept as it was")
        #expect(!Files.exists(path))
        #expect(Files.exists(directory.file("snapshot")), "what was kept is on disk again before writes are taken")
        #expect(log.contains("error", path, "skipped bytes \(offsets[4])-\(offsets[5])", corrupt.movedTo))
        #expect(store.registerWaiting(makeSpec(50)).succeeded)
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(reopened.recovery.corruptFiles.isEmpty && reopened.recovery.tornTails.isEmpty)
        #expect(Set(tableContents(again).keys) == Set((5..<10).map { "i\($0)" } + ["i50"]))
        #expect(tableContents(again)["i7"] == makeSpec(7))
        reopened.close()
    }

    /// The reproduction from the issue, in small: a deregistration whose record is damaged must not
    /// bring its instance back, and nothing acknowledged after the damage is lost.
    @Test func aDamagedDeregistrationNeverBringsItsInstanceBack() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        for index in 0..<6 { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        #expect(store.deregisterWaiting("i2").succeeded)
        for index in 6..<9 { #expect(store.registerWaiting(makeSpec(index)).succeeded) }
        store.close()
        let path = directory.file(TemporaryDirectory.journal(1))
        let bytes = try readFile(path)
        let deregister = try #require(frameOffsets(bytes).first { offset in
            guard case .frame(.deregister, _) = Array(bytes[offset...]).withUnsafeBytes({ Frame.check($0) }) else {
                return false
            }
            return true
        })
        var damaged = bytes
        damaged[deregister + Frame.headerSize + 3] ^= 0x04  // one bit of the id
        try writeFile(path, damaged)
        let registry = Registry()
        let reopened = try openStore(directory, registry: registry)
        let kept = Set(tableContents(registry).keys)
        #expect(!kept.contains("i2"), "the deregistered instance stays gone")
        #expect(kept == ["i6", "i7", "i8"], "what came after the damage is kept")
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

    @Test func aDamagedSnapshotKeepsEveryIntactRecordAndIsCopiedAside() throws {
        let (directory, table) = try Self.snapshotDirectory()
        let snapshotPath = directory.file("snapshot")
        let bytes = try readFile(snapshotPath)
        let offsets = registrationOffsets(bytes)
        #expect(offsets.count >= 10)
        let damagedFrame = 5
        let check = Array(bytes[offsets[damagedFrame]...]).withUnsafeBytes { Frame.check($0) }
        guard case .frame(.register(let lost, _), _) = check else {
            Issue.record("frame \(damagedFrame) is not a registration")
            return
        }
        var damaged = bytes
        damaged[offsets[damagedFrame] + Frame.headerSize + 4] ^= 0x10
        try writeFile(snapshotPath, damaged)

        let log = CapturedLog()
        let registry = Registry()
        let store = try openStore(directory, registry: registry, log: log)
        // A snapshot holds no deregistrations: damage costs exactly the registration it hit.
        #expect(Set(tableContents(registry).keys) == Set(table.keys).subtracting([lost.id]))
        #expect(store.recovery.unconfirmedAfterDamage == 0)
        let corrupt = try #require(store.recovery.corruptFiles.first)
        #expect(corrupt.file == snapshotPath)
        #expect(try readFile(corrupt.movedTo) == damaged)
        #expect(log.contains("error", snapshotPath, "at bytes \(offsets[damagedFrame])-\(offsets[damagedFrame + 1])"))
        store.close()

        let again = Registry()
        let reopened = try openStore(directory, registry: again)
        #expect(reopened.recovery.corruptFiles.isEmpty)
        #expect(Set(tableContents(again).keys) == Set(table.keys).subtracting([lost.id]))
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
