import Leases

/// What the resolver needs from the registration table. `Registry` and `LeaseTable` both conform,
/// so the resolver runs against a locked shared table in the server and a plain value in tests.
package protocol LeaseLookup {
    func functionEntry(service: String, function: String) -> FunctionEntry?
    func serviceHasLive(_ service: String, now: Instant) -> Bool
    func liveInstance(id: String, now: Instant) -> Instance?
}

extension LeaseTable: LeaseLookup {
    package func functionEntry(service: String, function: String) -> FunctionEntry? {
        entry(service: service, function: function)
    }
    package func liveInstance(id: String, now: Instant) -> Instance? { instance(id: id, now: now) }
}

extension Registry: LeaseLookup {
    package func functionEntry(service: String, function: String) -> FunctionEntry? {
        entry(FunctionKey(service: service, function: function))
    }
    package func serviceHasLive(_ service: String, now: Instant) -> Bool {
        read { $0.serviceHasLive(service, now: now) }
    }
    package func liveInstance(id: String, now: Instant) -> Instance? { instance(id: id, now: now) }
}
