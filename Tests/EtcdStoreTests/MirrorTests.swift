import Primitives
import EtcdStore
import Leases
import PosixIO
import Synchronization
import Testing

/// The two writers of a mirror (the watch stream and this node's acknowledged writes) in every order.
@Suite struct MirrorTests {
    let registry = Registry()
    let mirror: Mirror
    let now = Instant(nanoseconds: 1_000_000_000_000)

    init() { mirror = Mirror(registry: registry, log: Log(level: .error) { _ in }) }

    static func spec(_ id: String, port: UInt16 = 80) -> InstanceSpec {
        InstanceSpec(service: "s", function: "f", id: id, address: IPAddress("10.0.0.1")!, port: port, ttl: 10)
    }

    var index: UInt64? { registry.entry(FunctionKey(service: "s", function: "f"))?.index }
    func port(_ id: String) -> UInt16? { registry.instance(id: id, now: now)?.spec.port }
    func later(_ seconds: Int64) -> Instant { now.adding(seconds: seconds) }

    @Test func streamPutRegistersWithTheGivenDeadline() throws {
        let instance = try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(7), origin: .stream, now: now)
        #expect(instance?.deadline == later(7))
        #expect(mirror.record(id: "a") == MirrorRecord(revision: 5, created: 1, spec: Self.spec("a")))
        #expect(mirror.watermark == 5)
    }

    @Test func theStreamDoesNotUndoANewerLocalWrite() throws {
        try mirror.applyPut(Self.spec("a", port: 81), created: 2, revision: 8, deadline: later(10), origin: .local, now: now)
        // An older put of the same id arrives on the stream afterwards.
        try mirror.applyPut(Self.spec("a", port: 80), created: 1, revision: 6, deadline: later(10), origin: .stream, now: now)
        #expect(port("a") == 81)
        mirror.applyDelete(id: "a", revision: 7, origin: .stream, now: now)
        #expect(port("a") == 81)
    }

    @Test func aLocalWriteTheStreamAlreadyPassedIsNotReapplied() throws {
        try mirror.applyPut(Self.spec("a", port: 80), created: 1, revision: 5, deadline: later(10), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("a", port: 82), created: 3, revision: 9, deadline: later(10), origin: .stream, now: now)
        // Our own write at 5 is acknowledged late: the stream is at 9, so it must not roll "a" back.
        let instance = try mirror.applyPut(
            Self.spec("a", port: 80), created: 1, revision: 5, deadline: later(10), origin: .local, now: now)
        #expect(port("a") == 82 && instance?.spec.port == 82)
    }

    @Test func aLocalDeleteIsNotRevivedByAnOlderPutStillOnTheStream() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .local, now: now)
        mirror.applyDelete(id: "a", revision: 6, origin: .local, now: now)
        #expect(registry.instance(id: "a", now: now) == nil)
        #expect(mirror.record(id: "a")?.isTombstone == true)
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .stream, now: now)
        #expect(registry.instance(id: "a", now: now) == nil)
        // The delete's own event passes the tombstone, which is then forgotten.
        mirror.applyDelete(id: "a", revision: 6, origin: .stream, now: now)
        #expect(mirror.record(id: "a") == nil)
    }

    @Test func tombstonesOfOtherIDsAreForgottenWhenTheStreamPassesThem() throws {
        mirror.applyDelete(id: "x", revision: 6, origin: .local, now: now)
        try mirror.applyPut(Self.spec("b"), created: 1, revision: 7, deadline: later(10), origin: .stream, now: now)
        #expect(mirror.record(id: "x") == nil)
    }

    @Test func theSamePutAgainChangesNoIndexAndKeepsTheLongerDeadline() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .local, now: now)
        let before = index
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 6, deadline: later(8), origin: .stream, now: now)
        #expect(index == before)
        #expect(registry.instance(id: "a", now: now)?.deadline == later(10))
        // A new key (deleted and created again) is a new registration (a client registered again): the index rises.
        try mirror.applyPut(Self.spec("a"), created: 2, revision: 7, deadline: later(10), origin: .stream, now: now)
        #expect(index! > before!)
    }

    @Test func aPutNoLiveCoverVouchesForIsMirroredButNotAnswered() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("a", port: 81), created: 2, revision: 6, deadline: .zero, origin: .stream, now: now)
        #expect(registry.instance(id: "a", now: now) == nil)
        #expect(mirror.record(id: "a")?.revision == 6, "kept, for a late marker and for the key collector")
        #expect(mirror.renewed(created: [2], ttl: 10, deadline: later(12), now: now) == 1)
        #expect(registry.instance(id: "a", now: now)?.spec.port == 81, "a marker brings it back")
    }

    @Test func renewalsExtendWithoutRaisingTheIndexAndNeverShorten() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .stream, now: now)
        let before = index
        #expect(mirror.renewed(created: [1], ttl: 10, deadline: later(20), now: now) == 1)
        #expect(registry.instance(id: "a", now: now)?.deadline == later(20))
        #expect(mirror.renewed(created: [1], ttl: 10, deadline: later(15), now: now) == 1)
        #expect(registry.instance(id: "a", now: now)?.deadline == later(20))
        #expect(index == before)
        #expect(mirror.renewed(created: [9], ttl: 10, deadline: later(30), now: now) == 0, "another key")
        #expect(mirror.renewed(created: [1], ttl: 30, deadline: later(30), now: now) == 0, "a cover of another TTL")
        #expect(registry.instance(id: "a", now: now)?.deadline == later(20))
    }

    @Test func aRenewalFoundAfterTheSweepBringsTheInstanceBack() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .stream, now: now)
        registry.expire(now: later(11))
        #expect(registry.count == 0)
        #expect(mirror.renewed(created: [1], ttl: 10, deadline: later(25), now: later(11)) == 1)
        #expect(registry.instance(id: "a", now: later(11))?.deadline == later(25))
        #expect(registry.instance(id: "a", now: later(12)) != nil)
    }

    @Test func reconcileAppliesRemovesAndKeeps() throws {
        try mirror.applyPut(Self.spec("keep"), created: 1, revision: 2, deadline: later(10), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("gone"), created: 2, revision: 3, deadline: later(10), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("mine"), created: 3, revision: 12, deadline: later(10), origin: .local, now: now)
        let kvs = [
            EtcdKeyValue(key: SpecCodec.key(id: "keep"), value: SpecCodec.encode(Self.spec("keep")), modRevision: 2, createRevision: 1, lease: 0),
            EtcdKeyValue(key: SpecCodec.key(id: "new"), value: SpecCodec.encode(Self.spec("new")), modRevision: 7, createRevision: 4, lease: 0),
            EtcdKeyValue(key: SpecCodec.key(id: "dead"), value: SpecCodec.encode(Self.spec("dead")), modRevision: 8, createRevision: 5, lease: 0),
        ]
        let prepared: [String: (spec: InstanceSpec?, deadline: Instant)] = [
            SpecCodec.key(id: "new"): (Self.spec("new"), later(6)), SpecCodec.key(id: "dead"): (Self.spec("dead"), .zero),
        ]
        let result = mirror.reconcile(snapshot: kvs, revision: 10, prepared: prepared, now: now)
        #expect(result.removed == 1, "gone")
        #expect(registry.instance(id: "keep", now: now)?.deadline == later(10))
        #expect(registry.instance(id: "new", now: now)?.deadline == later(6))
        #expect(registry.instance(id: "gone", now: now) == nil && mirror.record(id: "gone") == nil)
        #expect(registry.instance(id: "dead", now: now) == nil && mirror.record(id: "dead") != nil, "no cover vouches for it")
        #expect(registry.instance(id: "mine", now: now) != nil, "written after the snapshot")
        #expect(mirror.watermark == 10)
    }

    @Test func aLocalWriteTheTableRefusesIsReportedAndNotRecorded() throws {
        let small = Registry(limits: LeaseLimits(maxInstances: 1, maxInstancesPerFunction: 1))
        let mirror = Mirror(registry: small, log: Log(level: .error) { _ in })
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .local, now: now)
        #expect(throws: LeaseError.tooManyInstances(limit: 1)) {
            try mirror.applyPut(Self.spec("b"), created: 2, revision: 6, deadline: later(10), origin: .local, now: now)
        }
        #expect(mirror.record(id: "b") == nil)
    }
}

extension MirrorTests {
    @Test func aPartialReadRegistersEarlyAndTheFinalReconcileOnlyRemoves() throws {
        try mirror.applyPut(Self.spec("old"), created: 9, revision: 2, deadline: later(10), origin: .stream, now: now)
        let kv = EtcdKeyValue(key: SpecCodec.key(id: "a"), value: SpecCodec.encode(Self.spec("a")), modRevision: 5, createRevision: 1, lease: 0)
        let bad = EtcdKeyValue(key: SpecCodec.key(id: "bad"), value: Array("{}".utf8), modRevision: 6, createRevision: 2, lease: 0)
        let prepared: [String: (spec: InstanceSpec?, deadline: Instant)] = [
            kv.key: (Self.spec("a"), later(9)), bad.key: (nil, .zero),
        ]
        mirror.applyPartial([kv, bad], prepared: prepared, now: now)
        #expect(registry.instance(id: "a", now: now)?.deadline == later(9))
        #expect(registry.instance(id: "old", now: now) != nil, "removals wait for the whole snapshot")
        #expect(mirror.watermark == 2, "a partial read does not move the watermark")
        let before = index
        let result = mirror.reconcile(snapshot: [kv, bad], revision: 7, prepared: prepared, now: now)
        #expect(result.removed == 1 && registry.instance(id: "old", now: now) == nil)
        #expect(registry.instance(id: "a", now: now) != nil && mirror.record(id: "bad") == nil)
        #expect(mirror.watermark == 7)
        #expect(index! > before!, "the removal of old changed the function")
        #expect(registry.counters.registrations.load(ordering: .relaxed) == 2, "a was not registered twice")
    }

    @Test func createRevisionsLeadToTheirIDsThroughReplacementsAndDeletes() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(10), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("b"), created: 2, revision: 6, deadline: later(10), origin: .stream, now: now)
        #expect(mirror.id(created: 1) == "a" && mirror.id(created: 2) == "b")
        try mirror.applyPut(Self.spec("a", port: 81), created: 3, revision: 7, deadline: later(10), origin: .stream, now: now)
        #expect(mirror.id(created: 1) == nil && mirror.id(created: 3) == "a", "deleted and created again")
        mirror.applyDelete(id: "b", revision: 8, origin: .local, now: now)
        #expect(mirror.id(created: 2) == nil, "a tombstone names no key")
        _ = mirror.reconcile(snapshot: [], revision: 9, prepared: [:], now: now)
        #expect(mirror.id(created: 3) == nil)
    }

    @Test func renewalsOfOtherNodesExtendTheListedInstances() throws {
        try mirror.applyPut(Self.spec("a"), created: 1, revision: 5, deadline: later(4), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("b"), created: 2, revision: 6, deadline: later(9), origin: .stream, now: now)
        let indexBefore = index
        // Key 99 is unknown here, and b already holds a later deadline: only a moves.
        #expect(mirror.renewed(created: [1, 2, 99], ttl: 10, deadline: later(8), now: now) == 2)
        #expect(registry.instance(id: "a", now: now)?.deadline == later(8))
        #expect(registry.instance(id: "b", now: now)?.deadline == later(9), "never shortened")
        #expect(index == indexBefore, "a renewal is no change a watch sees")
    }
}

extension MirrorTests {
    @Test func aKeyIsCollectableOnlyWhenNothingVouchedForItForItsGrace() throws {
        // TTL 10: a grace of 10 s. "short" is renewed by markers whose deadline is already past here
        // (a short TTL, etcd's rounding), "refused" never entered the table, "ended" is left alone.
        try mirror.applyPut(Self.spec("ended"), created: 1, revision: 5, deadline: later(2), origin: .stream, now: now)
        try mirror.applyPut(Self.spec("short"), created: 2, revision: 6, deadline: now, origin: .stream, now: now)
        try mirror.applyPut(Self.spec("live"), created: 3, revision: 7, deadline: later(30), origin: .stream, now: now)
        #expect(mirror.collectable(now: later(9), jitter: 0).isEmpty, "nothing is past its grace yet")
        for second: Int64 in [5, 10, 15, 20] {
            _ = mirror.renewed(created: [2], ttl: 10, deadline: later(second), now: later(second))
        }
        #expect(registry.instance(id: "short", now: later(21)) == nil, "not answered here")
        let due = mirror.collectable(now: later(21), jitter: 0)
        #expect(due == [KeyCollector.Candidate(id: "ended", revision: 5, ttl: 10)], "short is still vouched for; live is live")
        #expect(mirror.isCollectable(due[0], now: later(21), jitter: 0))
        #expect(!mirror.isCollectable(due[0], now: later(12), jitter: 5_000_000_000), "this node's share of the grace")
        try mirror.applyPut(Self.spec("ended", port: 81), created: 1, revision: 9, deadline: .zero, origin: .stream, now: later(21))
        #expect(!mirror.isCollectable(due[0], now: later(40), jitter: 0), "written again: another revision")
    }
}

@Suite struct MirrorLagTests {
    let start = Instant(nanoseconds: 1_000_000_000_000)

    @Test func theLagIsHowLongTheWatchTookToDeliverThisNodesWrite() {
        let lag = MirrorLag()
        #expect(lag.nanoseconds(now: start) == 0)
        lag.wrote(revision: 10, at: start)
        #expect(lag.nanoseconds(now: start.adding(milliseconds: 300)) == 300_000_000, "still waiting: it grows")
        lag.caughtUp(to: 10, at: start.adding(milliseconds: 40))
        #expect(lag.nanoseconds(now: start.adding(seconds: 5)) == 40_000_000)
        // Two writers noted out of revision order; the watch delivers both at once.
        lag.wrote(revision: 12, at: start.adding(seconds: 6))
        lag.wrote(revision: 11, at: start.adding(milliseconds: 5_990))
        lag.caughtUp(to: 12, at: start.adding(milliseconds: 6_020))
        #expect(lag.nanoseconds(now: start.adding(seconds: 7)) == 30_000_000)
        // A write noted after the watch had already delivered it measured nothing.
        lag.caughtUp(to: 20, at: start.adding(seconds: 8))
        lag.wrote(revision: 19, at: start.adding(seconds: 9))
        #expect(lag.nanoseconds(now: start.adding(seconds: 10)) == 0)
    }
}
