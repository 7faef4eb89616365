import Primitives
import EtcdStore
import Leases
import Testing

@Suite struct ReconcileTests {
    static func spec(_ id: String) -> InstanceSpec {
        InstanceSpec(service: "s", function: "f", id: id, address: IPAddress("10.0.0.1")!, port: 80)
    }

    static func kv(_ id: String, revision: Int64, created: Int64 = 1) -> EtcdKeyValue {
        EtcdKeyValue(key: SpecCodec.key(id: id), value: SpecCodec.encode(spec(id)), modRevision: revision, createRevision: created, lease: 0)
    }

    static func live(_ id: String, revision: Int64) -> (String, MirrorRecord) {
        (id, MirrorRecord(revision: revision, created: 1, spec: spec(id)))
    }

    static func tombstone(_ id: String, revision: Int64) -> (String, MirrorRecord) {
        (id, MirrorRecord(revision: revision, created: 0, spec: nil))
    }

    @Test func emptyMirrorTakesEverything() {
        let plan = Reconcile.plan(local: [:], snapshot: [Self.kv("b", revision: 4), Self.kv("a", revision: 3)], revision: 9)
        #expect(plan == ReconcilePlan(apply: [Self.kv("a", revision: 3), Self.kv("b", revision: 4)]))
    }

    @Test func unchangedKeysAreLeftAloneSoNoIndexRises() {
        let local = Dictionary(uniqueKeysWithValues: [Self.live("a", revision: 3)])
        #expect(Reconcile.plan(local: local, snapshot: [Self.kv("a", revision: 3)], revision: 9) == ReconcilePlan())
    }

    @Test func keysChangedWhileTheWatchWasDownAreApplied() {
        let local = Dictionary(uniqueKeysWithValues: [Self.live("a", revision: 3)])
        let plan = Reconcile.plan(local: local, snapshot: [Self.kv("a", revision: 7, created: 2)], revision: 9)
        #expect(plan.apply == [Self.kv("a", revision: 7, created: 2)] && plan.remove.isEmpty)
    }

    @Test func instancesDeletedOrExpiredInEtcdAreRemoved() {
        let local = Dictionary(uniqueKeysWithValues: [Self.live("a", revision: 3), Self.live("b", revision: 4)])
        let plan = Reconcile.plan(local: local, snapshot: [Self.kv("b", revision: 4)], revision: 9)
        #expect(plan == ReconcilePlan(remove: ["a"]))
    }

    @Test func localWritesNewerThanTheSnapshotSurvive() {
        // This node wrote "c" at revision 12 after the read at revision 9 began, and replaced "a" at 11.
        let local = Dictionary(uniqueKeysWithValues: [Self.live("c", revision: 12), Self.live("a", revision: 11)])
        let plan = Reconcile.plan(local: local, snapshot: [Self.kv("a", revision: 5)], revision: 9)
        #expect(plan == ReconcilePlan())
    }

    @Test func tombstonesBlockOlderKeysAndAreForgottenOnceCovered() {
        // Deleted here at 10, but a read at 9 still has the key: it stays deleted.
        let newer = Dictionary(uniqueKeysWithValues: [Self.tombstone("a", revision: 10)])
        #expect(Reconcile.plan(local: newer, snapshot: [Self.kv("a", revision: 5)], revision: 9) == ReconcilePlan())
        // A read at 12 no longer has it: the tombstone has done its job.
        #expect(Reconcile.plan(local: newer, snapshot: [], revision: 12) == ReconcilePlan(forget: ["a"]))
        // Registered again elsewhere at 11 (after our delete): the key comes back.
        let plan = Reconcile.plan(local: newer, snapshot: [Self.kv("a", revision: 11)], revision: 12)
        #expect(plan == ReconcilePlan(apply: [Self.kv("a", revision: 11)]))
    }

    @Test func foreignKeysUnderThePrefixAreIgnored() {
        let stray = EtcdKeyValue(key: "/beacon/v1/instances/Not_A_Label", value: [], modRevision: 3, lease: 0)
        #expect(Reconcile.plan(local: [:], snapshot: [stray], revision: 9) == ReconcilePlan())
    }

    @Test func mixedCaseIsSorted() {
        let local = Dictionary(uniqueKeysWithValues: [
            Self.live("keep", revision: 2), Self.live("gone-2", revision: 2), Self.live("gone-1", revision: 3),
            Self.live("changed", revision: 2), Self.tombstone("old-tomb", revision: 4),
        ])
        let snapshot = [Self.kv("keep", revision: 2), Self.kv("changed", revision: 6), Self.kv("new", revision: 7)]
        let plan = Reconcile.plan(local: local, snapshot: snapshot, revision: 8)
        #expect(plan.apply.map(\.key) == [SpecCodec.key(id: "changed"), SpecCodec.key(id: "new")])
        #expect(plan.remove == ["gone-1", "gone-2"])
        #expect(plan.forget == ["old-tomb"])
    }
}

@Suite struct LeaseClockTests {
    let sent = Instant(nanoseconds: 100_000_000_000)

    @Test func grantAndKeepAliveRunFromBeforeTheRequest() {
        #expect(LeaseClock.deadline(sentAt: sent, renewedTTL: 30, specTTL: 30) == sent.adding(seconds: 30))
        // etcd raised a 1 s lease to its 2 s minimum: Beacon's lease is still 1 s.
        #expect(LeaseClock.deadline(sentAt: sent, renewedTTL: 2, specTTL: 1) == sent.adding(seconds: 1))
    }

    @Test func timeToLiveIsTakenAsRoundedDownAndMinusWhatEtcdAdded() {
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 4, granted: 5, specTTL: 5) == sent.adding(seconds: 4))
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 0, granted: 5, specTTL: 5) == sent)
        // Granted 2 for a 1 s spec, 2 s left: renewed just now, so 1 s of Beacon's lease is left.
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 2, granted: 2, specTTL: 1) == sent.adding(seconds: 1))
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 1, granted: 2, specTTL: 1) == sent)
        #expect(LeaseClock.deadline(sentAt: sent, remaining: -1, granted: 0, specTTL: 5) == nil)
    }

    @Test func deadlinesNeverExceedTheSpecTTL() {
        // A lease renewed to a longer TTL by hand in etcd does not lengthen Beacon's answers past the spec.
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 58, granted: 60, specTTL: 10) == sent.adding(seconds: 8))
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 50, granted: 60, specTTL: 10) == sent)
        #expect(LeaseClock.deadline(sentAt: sent, remaining: 50, granted: 0, specTTL: 10) == sent.adding(seconds: 10))
    }
}
