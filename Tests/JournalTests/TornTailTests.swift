import Primitives
import Journal
import Leases
import PosixIO
import Testing

/// A crash in the middle of an append leaves a partial record at the end of the journal: recovery
/// keeps everything before it, cuts it off, says where, and appends cleanly afterwards.
@Suite struct TornTailTests {
    static let journal = TemporaryDirectory.journal(1)

    /// A journal of `count` registrations (no marks: every one is brought back whatever its deadline).
    static func journalBytes(count: Int) throws -> [UInt8] {
        framed((0..<count).map { .register(makeSpec($0), deadline: 1_000_000) })
    }

    static func expectedIDs(_ count: Int) -> Set<String> { Set((0..<count).map { "i\($0)" }) }

    static func startsWithEpoch(_ bytes: [UInt8]) -> Bool {
        if case .epoch? = entries(of: bytes).first { return true }
        return false
    }

    @Test func cuttingTheJournalAtEveryByteInsideTheLastRecordKeepsEveryEarlierRecord() throws {
        let bytes = try Self.journalBytes(count: 6)
        let offsets = frameOffsets(bytes)
        #expect(offsets.count == 6)
        let lastStart = offsets.last!
        for cut in lastStart..<bytes.count {
            let directory = try TemporaryDirectory()
            let path = directory.file(Self.journal)
            try writeFile(path, Array(bytes[..<cut]))
            let log = CapturedLog()
            let registry = Registry()
            let store = try openStore(directory, registry: registry, log: log)
            #expect(Set(tableContents(registry).keys) == Self.expectedIDs(5), "cut at \(cut)")
            #expect(store.recovery.journalRecords == 5)
            if cut == lastStart {
                #expect(store.recovery.tornTails.isEmpty, "a cut between records is not a torn tail")
            } else {
                #expect(store.recovery.tornTails.map(\.file) == [path])
                #expect(store.recovery.tornTails.map(\.offset) == [lastStart])
                #expect(store.recovery.tornTails.map(\.droppedBytes) == [cut - lastStart])
                #expect(log.contains("warning", "torn tail", path, "at byte \(lastStart)"), "cut at \(cut): \(log.all)")
            }
            #expect(store.recovery.corruptFiles.isEmpty)
            let onDisk = try readFile(path)
            #expect(Array(onDisk.prefix(lastStart)) == Array(bytes[..<lastStart]), "the tail is cut off on disk")
            #expect(Self.startsWithEpoch(Array(onDisk[lastStart...])), "and the run's records follow at the cut")
            // Appending continues at the cut, and the next start finds a whole journal.
            #expect(store.registerWaiting(makeSpec(99)).succeeded)
            store.close()
            let again = Registry()
            let reopened = try openStore(directory, registry: again)
            #expect(reopened.recovery.tornTails.isEmpty && reopened.recovery.corruptFiles.isEmpty)
            #expect(Set(tableContents(again).keys) == Self.expectedIDs(5).union(["i99"]))
            reopened.close()
        }
    }

    @Test func garbageAppendedAfterGoodRecordsIsCutOffAsATornTail() throws {
        let bytes = try Self.journalBytes(count: 6)
        let lastFrame = Array(bytes[frameOffsets(bytes).last!...])
        var generator = SeededGenerator(seed: 42)
        let garbage: [(String, [UInt8])] = [
            ("zeros, as when the size grew but the data never landed", [UInt8](repeating: 0, count: 4096)),
            ("random bytes", (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }),
            ("text", Array("not a journal record\n".utf8)),
            ("one byte", [1]),
            ("a header promising more than the file holds", [0x00, 0x10, 0, 0, 1, 2, 3, 4, 1, 1, 5]),
            ("the first half of a record", Array(lastFrame.prefix(lastFrame.count / 2))),
            ("a whole record with its last byte changed", Array(lastFrame.dropLast()) + [lastFrame.last! ^ 0x40]),
        ]
        for (name, tail) in garbage {
            let directory = try TemporaryDirectory()
            let path = directory.file(Self.journal)
            try writeFile(path, bytes + tail)
            let registry = Registry()
            let store = try openStore(directory, registry: registry)
            #expect(Set(tableContents(registry).keys) == Self.expectedIDs(6), "\(name)")
            #expect(store.recovery.tornTails.map(\.offset) == [bytes.count], "\(name)")
            #expect(store.recovery.tornTails.map(\.droppedBytes) == [tail.count], "\(name)")
            #expect(store.recovery.corruptFiles.isEmpty, "\(name)")
            let onDisk = try readFile(path)
            #expect(Array(onDisk.prefix(bytes.count)) == bytes, "\(name)")
            #expect(Self.startsWithEpoch(Array(onDisk[bytes.count...])), "\(name)")
            store.close()
        }
    }
}
