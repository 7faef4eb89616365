import Primitives
import Leases
import PosixIO
import Testing

/// Not a test of speed (timed tests lie on shared machines): prints the cost of sweeping an expiry
/// wave so it can be profiled. `LEASES_BENCH=1 swift test -c release --filter ExpiryWaveBench`.
@Suite("Expiry wave benchmark", .enabled(if: Posix.environment()["LEASES_BENCH"] == "1"))
struct ExpiryWaveBench {
    @Test func sweepAWaveOf100kAmongAMillion() throws {
        let registry = Registry()
        let start = Instant(nanoseconds: 1_000_000_000)
        for index in 0..<1_000_000 {
            _ = try registry.register(
                InstanceSpec(
                    service: "s\(index / 300)", function: "f\(index / 3)", id: "i\(index)",
                    address: .v4(IPv4Address(UInt32(index))), port: 80, ttl: 3600), now: start)
        }
        for index in 0..<100_000 {
            _ = try registry.register(
                InstanceSpec(
                    service: "w\(index / 300)", function: "g\(index / 3)", id: "w\(index)",
                    address: .v4(IPv4Address(UInt32(index))), port: 80, ttl: 10), now: start)
        }
        let began = Posix.monotonicNanoseconds()
        let expired = registry.expire(now: start.adding(seconds: 10))
        let took = Double(Posix.monotonicNanoseconds() - began) / 1e9
        print("swept \(expired.count) in \(took) s (\(took * 1e9 / Double(expired.count)) ns each)")
        #expect(expired.count == 100_000)
    }
}
