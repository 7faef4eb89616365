import DNSWire
import Leases
import TestSupport
import Testing

/// The lease table at a manual clock: expiry to the nanosecond, renewals, replacement, the
/// per-function index and the sweep.
@Suite struct LeaseTableTests {
    // MARK: - Expiry

    @Test func anInstanceIsLiveOneNanosecondBeforeItsDeadlineAndGoneAtIt() {
        var table = LeaseTable()
        let instance = table.add(spec("a", ttl: 30), now: t0).instance
        let deadline = t0.adding(seconds: 30)
        #expect(instance.deadline == deadline)

        let justBefore = deadline.adding(nanoseconds: -1)
        #expect(table.instance(id: "a", now: justBefore) === instance)
        #expect(table.entry(key("orders", "create"))?.live(at: justBefore).map(\.id) == ["a"])
        #expect(table.entry(key("orders", "create"))?.hasLive(at: justBefore) == true)
        #expect(table.serviceHasLive("orders", now: justBefore))
        #expect(table.expire(now: justBefore).expired.isEmpty)

        #expect(table.instance(id: "a", now: deadline) == nil)
        #expect(table.entry(key("orders", "create"))?.live(at: deadline).isEmpty == true)
        #expect(table.entry(key("orders", "create"))?.hasLive(at: deadline) == false)
        #expect(!table.serviceHasLive("orders", now: deadline))
        #expect(table.summary(now: deadline).isEmpty)
        #expect(table.expire(now: deadline).expired.map(\.id) == ["a"])
        #expect(table.count == 0)
    }

    @Test func anInstanceLeavesLookupsAtItsDeadlineEvenBeforeTheSweep() {
        var table = LeaseTable()
        table.add(spec("a", ttl: 5), now: t0)
        let deadline = t0.adding(seconds: 5)
        // Not swept: still held, but no lookup returns it.
        #expect(table.count == 1)
        #expect(table.instance(id: "a", now: deadline) == nil)
        #expect(table.entry(key("orders", "create"))?.earliestDeadline(at: deadline) == nil)
        #expect(table.entry(key("orders", "create"))?.earliestDeadline(at: t0) == deadline)
    }

    // MARK: - Renewal

    @Test func renewExtendsTheLeaseToTheFullTTLFromNow() {
        var table = LeaseTable()
        let instance = table.add(spec("a", ttl: 30), now: t0).instance
        let renewedAt = t0.adding(milliseconds: 12_345)
        #expect(table.renew(id: "a", now: renewedAt) === instance)
        #expect(instance.deadline == renewedAt.adding(seconds: 30))
        #expect(table.instance(id: "a", now: renewedAt.adding(nanoseconds: 30_000_000_000 - 1)) === instance)
        #expect(table.instance(id: "a", now: renewedAt.adding(seconds: 30)) == nil)
    }

    @Test func aLateReorderedRenewalNeverShortensTheLease() {
        var table = LeaseTable()
        let instance = table.add(spec("a", ttl: 30), now: t0).instance
        _ = table.renew(id: "a", now: t0.adding(seconds: 20))
        // A renewal stamped earlier (processed late) would give t0+35 < t0+50.
        #expect(table.renew(id: "a", now: t0.adding(seconds: 5)) === instance)
        #expect(instance.deadline == t0.adding(seconds: 50))
    }

    @Test func renewingAnExpiredButUnsweptIdReturnsNil() {
        var table = LeaseTable()
        let instance = table.add(spec("a", ttl: 10), now: t0).instance
        let deadline = t0.adding(seconds: 10)
        #expect(table.renew(id: "a", now: deadline) == nil)
        #expect(instance.deadline == deadline, "a refused renewal must not revive the lease")
        #expect(table.renew(id: "unknown", now: t0) == nil)
    }

    // MARK: - Deregistration

    @Test func deregisterRemovesALiveInstanceAndRaisesTheIndex() throws {
        var table = LeaseTable()
        table.add(spec("a"), now: t0)
        table.add(spec("b", port: 8081), now: t0)
        let before = try #require(table.index("orders", "create"))
        let outcome = table.deregister(id: "a", now: t0.adding(seconds: 1))
        let removed = try #require(outcome)
        #expect(removed.instance.id == "a")
        #expect(removed.changed == key("orders", "create"))
        #expect(table.ids("orders", "create") == ["b"])
        #expect(table.instance(id: "a", now: t0) == nil)
        #expect(try #require(table.index("orders", "create")) > before)
        #expect(table.deregister(id: "a", now: t0.adding(seconds: 1)) == nil, "a second deregister finds nothing")
    }

    /// The sweep must still report an instance whose lease ended before a late DELETE: its expiry
    /// is a change that wakes watchers (CONTRACT: the index rises on expiry, and a change wakes
    /// waiting watches at once). A DELETE of the dead id answers 404 and must not swallow that change.
    @Test func deregisteringAnExpiredButUnsweptIdReturnsNilAndLeavesTheExpiryToTheSweep() throws {
        var table = LeaseTable()
        table.add(spec("a", ttl: 10), now: t0)
        let deadline = t0.adding(seconds: 10)
        let indexBefore = try #require(table.index("orders", "create"))

        #expect(table.deregister(id: "a", now: deadline) == nil)
        #expect(table.index("orders", "create") == indexBefore, "a refused deregister changes nothing")

        let swept = table.expire(now: deadline)
        #expect(swept.expired.map(\.id) == ["a"])
        #expect(swept.changed == [key("orders", "create")])
        #expect(try #require(table.index("orders", "create")) > indexBefore)
    }

    // MARK: - Replacement

    @Test func registeringAnExistingIdReplacesItsDataInPlace() throws {
        var table = LeaseTable()
        let old = table.add(spec("a", port: 8080), now: t0).instance
        table.add(spec("b", port: 9000), now: t0)
        let indexBefore = try #require(table.index("orders", "create"))
        old.noteExposure(until: t0.adding(seconds: 40))

        let later = t0.adding(seconds: 3)
        let result = table.add(spec("a", port: 8443, ttl: 60), now: later)
        #expect(result.replaced === old)
        #expect(result.changed == [key("orders", "create")])
        #expect(table.count == 2)
        #expect(table.ids("orders", "create") == ["a", "b"])
        let current = try #require(table.instance(id: "a", now: later))
        #expect(current === result.instance)
        #expect(current.spec.port == 8443)
        #expect(current.deadline == later.adding(seconds: 60))
        #expect(current.exposedUntil == t0.adding(seconds: 40), "answers that held the old data still drain")
        #expect(try #require(table.index("orders", "create")) > indexBefore)
    }

    @Test func replacingWithAShorterLeaseExpiresAtTheNewDeadlineAndTheOldHeapEntryIsHarmless() throws {
        var table = LeaseTable()
        table.add(spec("a", ttl: 60), now: t0)
        let newer = table.add(spec("a", ttl: 10), now: t0).instance
        #expect(table.expire(now: t0.adding(seconds: 10).adding(nanoseconds: -1)).expired.isEmpty)
        #expect(table.expire(now: t0.adding(seconds: 10)).expired.map { $0 === newer } == [true])
        #expect(table.count == 0)
        // The stale entry of the first registration pops later and finds nothing to remove.
        #expect(table.expire(now: t0.adding(seconds: 60)).expired.isEmpty)
    }

    @Test func replacingWithALongerLeaseSurvivesTheOldDeadline() throws {
        var table = LeaseTable()
        table.add(spec("a", ttl: 10), now: t0)
        let newer = table.add(spec("a", ttl: 60), now: t0).instance
        #expect(table.expire(now: t0.adding(seconds: 10)).expired.isEmpty)
        #expect(table.instance(id: "a", now: t0.adding(seconds: 10)) === newer)
        #expect(table.expire(now: t0.adding(seconds: 60)).expired.map(\.id) == ["a"])
    }

    @Test func movingAnIdToAnotherFunctionRaisesBothIndexesAndTheOldFunctionLosesIt() throws {
        var table = LeaseTable()
        table.add(spec("a", function: "create"), now: t0)
        table.add(spec("b", function: "create", port: 8081), now: t0)
        table.add(spec("z", function: "delete"), now: t0)
        let createBefore = try #require(table.index("orders", "create"))
        let deleteBefore = try #require(table.index("orders", "delete"))

        let moved = table.add(spec("a", function: "delete"), now: t0.adding(seconds: 1))
        #expect(Set(moved.changed) == [key("orders", "create"), key("orders", "delete")])
        #expect(moved.changed.count == 2)
        #expect(table.ids("orders", "create") == ["b"])
        #expect(table.ids("orders", "delete") == ["a", "z"])
        #expect(try #require(table.index("orders", "create")) > createBefore)
        #expect(try #require(table.index("orders", "delete")) > deleteBefore)
        #expect(table.instance(id: "a", now: t0)?.spec.function == "delete")
        #expect(table.count == 3)
    }

    @Test func movingAnIdToAnotherServiceLeavesTheOldServiceEmpty() {
        var table = LeaseTable()
        table.add(spec("a", service: "orders"), now: t0)
        table.add(spec("a", service: "billing"), now: t0)
        #expect(!table.serviceHasLive("orders", now: t0))
        #expect(table.serviceHasLive("billing", now: t0))
        #expect(table.summary(now: t0).map(\.service) == ["billing"])
    }

    // MARK: - The per-function index

    @Test func theFunctionIndexRisesOnEveryChangeAndNotOnHeartbeats() throws {
        var table = LeaseTable(initialIndex: 500)
        var seen: [UInt64] = []
        func record() throws { seen.append(try #require(table.index("orders", "create"))) }

        table.add(spec("a", ttl: 10), now: t0)
        try record()
        #expect(seen[0] > 500)
        table.add(spec("b", ttl: 20, meta: [MetaEntry(key: "v", value: "1")]), now: t0)
        try record()
        table.add(spec("b", ttl: 20, meta: [MetaEntry(key: "v", value: "2")]), now: t0)  // data change
        try record()
        for second in 1...5 {
            _ = table.renew(id: "a", now: t0.adding(seconds: Int64(second)))
            _ = table.renew(id: "b", now: t0.adding(seconds: Int64(second)))
        }
        try record()
        #expect(seen[3] == seen[2], "heartbeats leave the index alone")
        _ = table.deregister(id: "b", now: t0.adding(seconds: 6))
        try record()
        _ = table.expire(now: t0.adding(seconds: 15))  // a, renewed at t0+5 with ttl 10
        try record()
        #expect(table.ids("orders", "create").isEmpty)
        // register, register, replace, (heartbeats), deregister, expire
        #expect(seen[1] > seen[0] && seen[2] > seen[1] && seen[4] > seen[3] && seen[5] > seen[4], "indexes \(seen)")
    }

    @Test func aChangeInOneFunctionLeavesAnotherFunctionsIndexAlone() throws {
        var table = LeaseTable()
        table.add(spec("x", function: "other"), now: t0)
        let other = try #require(table.index("orders", "other"))
        table.add(spec("a"), now: t0)
        _ = table.deregister(id: "a", now: t0)
        #expect(table.index("orders", "other") == other)
    }

    @Test func anEmptiedFunctionIsFreedButItsIndexNeverGoesBack() throws {
        var table = LeaseTable()
        table.add(spec("a"), now: t0)
        let live = try #require(table.index("orders", "create"))
        _ = table.deregister(id: "a", now: t0)
        #expect(table.entry(key("orders", "create")) == nil, "nothing lives or drains there: the entry is freed")
        #expect(table.services["orders"] == nil)
        let emptied = try #require(table.index("orders", "create"))
        #expect(emptied > live, "the deregistration is a change a watcher sees")
        table.add(spec("b"), now: t0)
        #expect(try #require(table.index("orders", "create")) > emptied)
    }

    @Test func freedEntriesAndStaleHeapEntriesFollowTheLiveTable() {
        var table = LeaseTable()
        // Many names, each registered and deregistered: no entry and no heap entry stays behind.
        for round in 0..<5_000 {
            table.add(spec("a\(round)", function: "f\(round)", ttl: 86_400), now: t0)
            _ = table.deregister(id: "a\(round)", now: t0)
        }
        #expect(table.services.isEmpty)
        #expect(table.heapCount <= 2 * LeaseTable.staleHeapFloor + 2, "stale heap entries are dropped once they outnumber the live ones")
        // One id replaced many times with a day-long lease keeps one live instance and a bounded heap.
        for round in 0..<5_000 {
            table.add(spec("same", ttl: 86_400, meta: [MetaEntry(key: "round", value: "\(round)")]), now: t0)
        }
        #expect(table.count == 1)
        #expect(table.heapCount <= LeaseTable.staleHeapFloor + 2, "each one holds its meta: few are kept")
    }

    @Test func entriesListInstancesSortedById() {
        var table = LeaseTable()
        for id in ["m", "c", "x", "a", "k"] { table.add(spec(id), now: t0) }
        table.add(spec("c", port: 1), now: t0)
        #expect(table.ids("orders", "create") == ["a", "c", "k", "m", "x"])
    }

    // MARK: - The sweep

    @Test func expireReturnsExactlyTheEndedInstancesAndRequeuesRenewedOnes() {
        var table = LeaseTable()
        table.add(spec("a", ttl: 10), now: t0)
        table.add(spec("b", function: "delete", ttl: 20), now: t0)
        table.add(spec("c", ttl: 10), now: t0)
        _ = table.renew(id: "c", now: t0.adding(seconds: 5))  // now ends at t0+15
        #expect(table.nextSweep == t0.adding(seconds: 10))

        let first = table.expire(now: t0.adding(seconds: 10))
        #expect(first.expired.map(\.id) == ["a"])
        #expect(first.changed == [key("orders", "create")])
        #expect(table.count == 2)
        #expect(table.nextSweep == t0.adding(seconds: 15), "c was re-queued at its renewed deadline")

        #expect(table.expire(now: t0.adding(seconds: 15).adding(nanoseconds: -1)).expired.isEmpty)
        let second = table.expire(now: t0.adding(seconds: 15))
        #expect(second.expired.map(\.id) == ["c"])

        let third = table.expire(now: t0.adding(seconds: 100))
        #expect(third.expired.map(\.id) == ["b"])
        #expect(third.changed == [key("orders", "delete")])
        #expect(table.count == 0)
        #expect(table.nextSweep == nil)
    }

    @Test func oneSweepReportsEachChangedFunctionOnce() {
        var table = LeaseTable()
        for index in 0..<5 { table.add(spec("a\(index)", port: UInt16(8000 + index), ttl: 10), now: t0) }
        table.add(spec("d", function: "delete", ttl: 10), now: t0)
        let swept = table.expire(now: t0.adding(seconds: 10))
        #expect(swept.expired.count == 6)
        #expect(Set(swept.changed) == [key("orders", "create"), key("orders", "delete")])
        #expect(swept.changed.count == 2)
    }

    @Test func summaryCountsOnlyLiveInstancesSortedByServiceAndFunction() {
        var table = LeaseTable()
        table.add(spec("a", service: "zeta", function: "run"), now: t0)
        table.add(spec("b", service: "alpha", function: "write", ttl: 5), now: t0)
        table.add(spec("c", service: "alpha", function: "read"), now: t0)
        table.add(spec("d", service: "alpha", function: "read", port: 1), now: t0)
        let later = t0.adding(seconds: 5)
        let summary = table.summary(now: later)
        #expect(summary.map(\.service) == ["alpha", "zeta"])
        #expect(summary[0].functions.map(\.function) == ["read"])
        #expect(summary[0].functions.map(\.instances) == [2])
        #expect(summary[1].functions.map(\.instances) == [1])
    }

    // MARK: - Owners and drains

    @Test func aLiveIdBelongsToItsService() throws {
        var table = LeaseTable()
        table.add(spec("pay-1", service: "payments"), now: t0)
        #expect(throws: LeaseError.ownedByAnotherService(id: "pay-1", service: "payments")) {
            try table.register(spec("pay-1", service: "orders"), now: t0, allowedServices: ["orders"])
        }
        #expect(table.byID["pay-1"]?.spec.service == "payments")
        // Its own service's scope may replace it; no scope may move it (the server logs that).
        _ = try table.register(spec("pay-1", service: "payments", port: 9), now: t0, allowedServices: ["payments"])
        _ = try table.register(spec("pay-1", service: "orders"), now: t0)
        #expect(table.byID["pay-1"]?.spec.service == "orders")
        // An ended lease belongs to nobody.
        _ = try table.register(spec("old", service: "payments", ttl: 1), now: t0)
        _ = try table.register(spec("old", service: "orders"), now: t0.adding(seconds: 2), allowedServices: ["orders"])
    }

    @Test func aDeregisteredInstanceAnswersUnderItsOwnNameUntilItsDrainEnds() throws {
        var table = LeaseTable()
        table.add(spec("a", ttl: 30), now: t0)
        table.add(spec("b", ttl: 30), now: t0)
        let a = try #require(table.byID["a"])
        a.noteExposure(until: t0.adding(seconds: 20))  // an answer holding it may be cached until t0+20
        let removed = table.deregister(id: "a", now: t0.adding(seconds: 1))
        #expect(removed?.instance === a)
        let entry = try #require(table.entry(key("orders", "create")))
        #expect(entry.instances.map(\.id) == ["b"], "the function's answers drop it at once")
        let named = try #require(entry.named("a", at: t0.adding(seconds: 5)))
        #expect(named.deadline == t0.adding(seconds: 20), "its name answers until the drain ends")
        #expect(table.instance(id: "a", now: t0.adding(seconds: 5)) == nil, "the API no longer knows it")
        #expect(entry.named("a", at: t0.adding(seconds: 20)) == nil)
        // The sweep ends the drain and frees what is left.
        _ = table.deregister(id: "b", now: t0.adding(seconds: 2))
        #expect(table.entry(key("orders", "create"))?.exists(at: t0.adding(seconds: 10)) == true)
        _ = table.expire(now: t0.adding(seconds: 20))
        #expect(table.entry(key("orders", "create")) == nil)
        #expect(table.draining.isEmpty)
    }

    @Test func registeringADrainingIdAgainEndsItsDrain() throws {
        var table = LeaseTable()
        table.add(spec("a", port: 1), now: t0)
        table.byID["a"]!.noteExposure(until: t0.adding(seconds: 20))
        _ = table.deregister(id: "a", now: t0)
        table.add(spec("a", port: 2), now: t0.adding(seconds: 1))
        let entry = try #require(table.entry(key("orders", "create")))
        #expect(entry.draining.isEmpty)
        #expect(entry.named("a", at: t0.adding(seconds: 2))?.spec.port == 2)
        #expect(table.draining.isEmpty)
    }
}
