import Primitives
import Leases
import Testing

@Suite("Bulk load (recovery)")
struct BulkLoadTests {
    static func spec(_ index: Int, function: Int) -> InstanceSpec {
        InstanceSpec(
            service: "s\(function % 7)", function: "f\(function)", id: "i\(index)",
            address: .v4(IPv4Address(UInt32(0x0A00_0000 + index))), port: UInt16(1 + index % 60_000), ttl: UInt32(1 + index % 90))
    }

    @Test func loadingGivesTheSameTableAsRegisteringOneByOne() throws {
        let now = Instant(nanoseconds: 5_000_000_000)
        let specs = (0..<5_000).map { Self.spec($0, function: $0 % 300) }
        var loaded = LeaseTable()
        #expect(loaded.load(Self.recovered(specs, now: now), now: now).isEmpty)
        var registered = LeaseTable()
        for spec in specs { _ = try registered.register(spec, now: now) }
        #expect(loaded.count == registered.count)
        for key in specs.map({ FunctionKey(service: $0.service, function: $0.function) }) {
            let left = loaded.entry(key)?.instances.map { "\($0.id) \($0.deadline)" }
            let right = registered.entry(key)?.instances.map { "\($0.id) \($0.deadline)" }
            #expect(left == right, "\(key)")
        }
        // Leases end as registered ones do.
        let later = now.adding(seconds: 45)
        #expect(loaded.expire(now: later).expired.count == registered.expire(now: later).expired.count)
    }

    @Test func loadingKeepsTheLimitsAndCountsWhatItRefused() {
        var table = LeaseTable(limits: LeaseLimits(maxInstances: 100, maxInstancesPerFunction: 30))
        let specs = (0..<200).map { Self.spec($0, function: $0 % 2) }
        let refused = table.load(Self.recovered(specs, now: .zero), now: .zero)
        #expect(table.count == 60)
        #expect(refused.count == 140)
        // Records come in priority order: the first ones win, the rest are named.
        #expect(refused == specs[60...].map(\.id))
    }

    static func recovered(_ specs: [InstanceSpec], now: Instant) -> [LeaseTable.Recovered] {
        specs.map { LeaseTable.Recovered(spec: $0, deadline: now.adding(seconds: Int64($0.ttl))) }
    }
}
