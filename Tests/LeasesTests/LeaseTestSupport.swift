import Primitives
import DNSWire
import Leases
import Synchronization
import TestSupport

/// Helpers shared by the Leases suites.

let t0 = Instant.at(1_000)

/// A valid spec, with the fields a test does not care about filled in.
func spec(
    _ id: String, service: String = "orders", function: String = "create", address: String = "10.0.0.1",
    port: UInt16 = 8080, ttl: UInt32 = 30, priority: UInt16 = 0, weight: UInt16 = 1, meta: [MetaEntry] = []
) -> InstanceSpec {
    InstanceSpec(
        service: service, function: function, id: id, address: IPAddress(address)!, port: port, ttl: ttl,
        priority: priority, weight: weight, meta: meta)
}

func key(_ service: String, _ function: String) -> FunctionKey { FunctionKey(service: service, function: function) }

extension LeaseTable {
    /// Registers or fails the test's precondition: for set-up, where a refusal is a bug in the test.
    @discardableResult
    mutating func add(_ spec: InstanceSpec, now: Instant) -> LeaseTable.Registration {
        do {
            return try register(spec, now: now)
        } catch {
            preconditionFailure("set-up registration refused: \(error)")
        }
    }

    /// The ids in a function's entry, in entry order.
    func ids(_ service: String, _ function: String) -> [String] {
        entry(service: service, function: function)?.instances.map(\.id) ?? []
    }

    /// The index a watch on the function compares with (its entry's, or the freed-entry floor).
    func index(_ service: String, _ function: String) -> UInt64? {
        index(of: FunctionKey(service: service, function: function))
    }
}


/// Records every change a `Registry` publishes, from any thread.
final class ChangeRecorder: Sendable {
    private let changes = Locked<[RegistryChange]>([])

    init(_ registry: Registry) {
        registry.addListener { [self] change in changes.withLock { $0.append(change) } }
    }

    var all: [RegistryChange] { changes.withLock { $0 } }
    var functionLists: [[FunctionKey]] { all.map(\.functions) }
    var count: Int { changes.withLock { $0.count } }
}

/// The seeded generator of these tests.
typealias SplitMix = SplitMix64

extension SplitMix64 {
    /// Uniform in `0..<bound` (bound > 0); the modulo bias is irrelevant at these sizes.
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
}
