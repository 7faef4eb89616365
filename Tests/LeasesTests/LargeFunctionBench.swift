import Primitives
import Leases
import PosixIO
import Testing

/// Not a test of speed (timed tests lie on shared machines): prints what registering into a large
/// function costs (issue 14 item 5), per registration at each thousand up to 10,000 instances.
/// `LEASES_BENCH=1 swift test -c release --filter LargeFunctionBench`.
@Suite("Large function benchmark", .enabled(if: Posix.environment()["LEASES_BENCH"] == "1"))
struct LargeFunctionBench {
    @Test func registeringUpTo10000InstancesOfOneFunction() throws {
        let registry = Registry()
        let now = Instant(nanoseconds: 1_000_000_000)
        var line: [String] = []
        var total: Int64 = 0
        for thousand in 0..<10 {
            let began = Posix.monotonicNanoseconds()
            for index in (thousand * 1_000)..<((thousand + 1) * 1_000) {
                _ = try registry.register(
                    InstanceSpec(
                        service: "big", function: "f", id: "instance-\(index)", address: .v4(IPv4Address(UInt32(index))), port: 80,
                        ttl: 3600), now: now)
            }
            let took = Posix.monotonicNanoseconds() - began
            total += took
            line.append("\((thousand + 1) * 1_000): \(took / 1_000 / 1_000) us")
        }
        print("registration into one function, mean per registration in each thousand: " + line.joined(separator: ", "))
        print("10,000 registrations into one function: \(Double(total) / 1e6) ms in all")
        #expect(registry.count == 10_000)
    }
}
