import Primitives
import Journal
import Leases
import PosixIO
import Testing

/// Damage at every byte of a small journal and a small snapshot: recovery keeps every intact frame,
/// and what it keeps is exactly what the rules say (a lost frame may have been a deregistration, so
/// what was registered before it needs a later record to come back).
@Suite struct SalvageTests {
    static let far: Int64 = 4_000_000_000_000  // deadlines far past every mark here

    static func spec(_ id: String) -> InstanceSpec {
        InstanceSpec(service: "orders", function: "create", id: id, address: .v4(0x0A00_0001), port: 80)
    }

    /// epoch, R(a), R(b), D(a), R(c), N(b), R(d), mark, and what survives the loss of each frame.
    static let journal: [JournalEntry] = [
        .epoch(time: 1_000, index: 10),
        .register(spec("a"), deadline: far),
        .register(spec("b"), deadline: far),
        .deregister(id: "a"),
        .register(spec("c"), deadline: far),
        .renew(id: "b", deadline: far + 1),
        .register(spec("d"), deadline: far),
        .mark(.init(time: 2_000, index: 20, finalStop: false)),
    ]
    static let keptWhenFrameIsLost: [Set<String>] = [
        ["b", "c", "d"],  // the epoch: nothing registered yet
        ["b", "c", "d"],  // R(a): a never existed
        ["c", "d"],  // R(b): b's renewal names an unknown id
        ["b", "c", "d"],  // D(a): a stays out (unconfirmed), b is confirmed by its renewal
        ["b", "d"],  // R(c)
        ["d"],  // N(b): b and c are unconfirmed
        [],  // R(d): b and c are unconfirmed, d is lost
        ["b", "c", "d"],  // the mark, as a torn tail: cut off, nothing else lost
    ]

    @Test func damageAtEveryByteOfAJournalKeepsExactlyWhatTheRulesSay() throws {
        let bytes = framed(Self.journal)
        let offsets = frameOffsets(bytes) + [bytes.count]
        #expect(offsets.count == Self.journal.count + 1)
        var checked = 0
        for position in 0..<bytes.count {
            let frame = offsets.lastIndex { $0 <= position }!
            for flip: UInt8 in [0x01, 0x80] {
                var damaged = bytes
                damaged[position] ^= flip
                let directory = try TemporaryDirectory()
                try writeFile(directory.file(TemporaryDirectory.journal(1)), damaged)
                let registry = Registry()
                let store = try openStore(directory, registry: registry)
                let kept = Set(tableContents(registry).keys)
                #expect(kept == Self.keptWhenFrameIsLost[frame], "byte \(position) (frame \(frame)) ^ \(flip)")
                #expect(!kept.contains("a"), "a deregistered instance never comes back (byte \(position))")
                store.close()
                checked += 1
            }
        }
        #expect(checked == bytes.count * 2)
    }

    @Test func damageAtEveryByteOfASnapshotCostsAtMostTheRegistrationItHit() throws {
        let ids = ["a", "b", "c", "d", "e"]
        let snapshot: [JournalEntry] =
            [.snapshotHeader(generation: 1), .mark(.init(time: 1_000, index: 5, finalStop: false))]
            + ids.map { .register(Self.spec($0), deadline: Self.far) } + [.snapshotEnd(count: 5, generation: 1)]
        let bytes = framed(snapshot)
        let offsets = frameOffsets(bytes) + [bytes.count]
        for position in 0..<bytes.count {
            let frame = offsets.lastIndex { $0 <= position }!
            var damaged = bytes
            damaged[position] ^= 0x20
            let directory = try TemporaryDirectory()
            try writeFile(directory.file("snapshot"), damaged)
            let registry = Registry()
            let store = try openStore(directory, registry: registry)
            let kept = Set(tableContents(registry).keys)
            let expected = (2..<7).contains(frame) ? Set(ids).subtracting([ids[frame - 2]]) : Set(ids)
            #expect(kept == expected, "byte \(position) (frame \(frame))")
            #expect(store.recovery.corruptFiles.count == 1, "byte \(position): the damaged snapshot is copied aside")
            store.close()
            // The repaired directory holds what was kept.
            let again = Registry()
            try openStore(directory, registry: again).close()
            #expect(Set(tableContents(again).keys) == expected, "byte \(position), after the repair")
        }
    }

    // MARK: - The rules, without files

    @Test func afterACrashAnInstanceWithinTheSlackOfTheLastMarkIsLeftOut() {
        var replay = Replay()
        replay.apply(.register(Self.spec("ended"), deadline: 10_000))
        replay.apply(.register(Self.spec("edge"), deadline: 10_000 + Replay.crashSlackMilliseconds))
        replay.apply(.register(Self.spec("live"), deadline: 10_000 + Replay.crashSlackMilliseconds + 1))
        replay.apply(.mark(.init(time: 10_000, index: 1, finalStop: false)))
        #expect(replay.survivors().map(\.id) == ["live"])
        #expect(replay.ended == 2)
    }

    @Test func afterACleanStopTheRuleIsExact() {
        var replay = Replay()
        replay.apply(.register(Self.spec("ended"), deadline: 10_000))
        replay.apply(.register(Self.spec("live"), deadline: 10_001))
        replay.apply(.mark(.init(time: 10_000, index: 1, finalStop: true)))
        #expect(replay.survivors().map(\.id) == ["live"])
    }

    @Test func anEpochRebasesTheSurvivorsOntoTheNewRun() {
        var replay = Replay()
        replay.apply(.register(Self.spec("a"), deadline: 50_000))
        replay.apply(.mark(.init(time: 40_000, index: 7, finalStop: true)))
        // The next run's clock reads far earlier (stepped back): a's grace is 30 s from its epoch.
        replay.apply(.epoch(time: 1_000, index: 9))
        replay.apply(.mark(.init(time: 20_000, index: 12, finalStop: false)))
        #expect(replay.survivors().map(\.id) == ["a"])
        replay.apply(.mark(.init(time: 31_000, index: 13, finalStop: false)))
        #expect(replay.survivors().isEmpty, "its grace ended 30 s after the epoch")
        #expect(replay.indexHighWater == 13)
    }

    @Test func survivorsComeMostRecentlyRegisteredFirst() {
        var replay = Replay()
        for id in ["x", "y", "z"] { replay.apply(.register(Self.spec(id), deadline: nil)) }
        replay.apply(.register(Self.spec("x"), deadline: nil))  // re-registered: now the latest
        #expect(replay.survivors().map(\.id) == ["x", "z", "y"])
    }
}
