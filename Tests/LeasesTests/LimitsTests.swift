import Leases
import Synchronization
import TestSupport
import Testing

/// `LeaseLimits`: past them a registration is refused naming the limit; replacing an existing id is
/// never refused for size, since it does not grow anything.
@Suite struct LimitsTests {
    static let limits = LeaseLimits(maxInstances: 3, maxInstancesPerFunction: 2)

    static func error(_ table: inout LeaseTable, _ spec: InstanceSpec) -> LeaseError? {
        do {
            _ = try table.register(spec, now: t0)
            return nil
        } catch {
            return error
        }
    }

    @Test func aFullFunctionRefusesANewIdWithTooManyInstancesInFunction() {
        var table = LeaseTable(limits: Self.limits)
        table.add(spec("a"), now: t0)
        table.add(spec("b"), now: t0)
        #expect(Self.error(&table, spec("c")) == .tooManyInstancesInFunction(limit: 2))
        #expect(table.ids("orders", "create") == ["a", "b"])
    }

    @Test func aFullTableRefusesANewIdWithTooManyInstances() {
        var table = LeaseTable(limits: Self.limits)
        table.add(spec("a", function: "f1"), now: t0)
        table.add(spec("b", function: "f2"), now: t0)
        table.add(spec("c", function: "f3"), now: t0)
        #expect(Self.error(&table, spec("d", function: "f4")) == .tooManyInstances(limit: 3))
        #expect(table.count == 3)
        #expect(table.entry(key("orders", "f4")) == nil, "a refused registration leaves no trace")
    }

    @Test func replacingAnExistingIdAtEitherLimitIsAllowed() throws {
        var table = LeaseTable(limits: Self.limits)
        table.add(spec("a"), now: t0)
        table.add(spec("b"), now: t0)
        table.add(spec("c", function: "other"), now: t0)
        #expect(Self.error(&table, spec("a", port: 9999)) == nil)
        #expect(Self.error(&table, spec("c", function: "other", address: "2001:db8::1")) == nil)
        #expect(table.count == 3)
        #expect(table.instance(id: "a", now: t0)?.spec.port == 9999)
    }

    @Test func movingAnIdIntoAFullFunctionIsRefused() {
        var table = LeaseTable(limits: LeaseLimits(maxInstances: 10, maxInstancesPerFunction: 2))
        table.add(spec("a"), now: t0)
        table.add(spec("b"), now: t0)
        table.add(spec("c", function: "other"), now: t0)
        #expect(Self.error(&table, spec("c")) == .tooManyInstancesInFunction(limit: 2))
        #expect(table.ids("orders", "other") == ["c"], "the refused move leaves c where it was")
    }

    @Test func aDeregistrationMakesRoomAgain() {
        var table = LeaseTable(limits: Self.limits)
        table.add(spec("a"), now: t0)
        table.add(spec("b"), now: t0)
        _ = table.deregister(id: "a", now: t0)
        #expect(Self.error(&table, spec("c")) == nil)
    }

    @Test func theRegistryCountsLimitRefusalsAndPublishesNothingForThem() {
        let registry = Registry(limits: LeaseLimits(maxInstances: 1, maxInstancesPerFunction: 1))
        let recorder = ChangeRecorder(registry)
        #expect(throws: Never.self) { try registry.register(spec("a"), now: t0) }
        let generation = registry.read { $0.lastIndex }
        #expect(throws: LeaseError.tooManyInstances(limit: 1)) { try registry.register(spec("b"), now: t0) }
        #expect(registry.counters.limitRejections.load(ordering: .relaxed) == 1)
        #expect(registry.read { $0.lastIndex } == generation)
        #expect(recorder.count == 1)
    }
}
