import Leases

/// What the resolver needs from the registration table. `Registry` and `LeaseTable` both conform,
/// so the resolver runs against a locked shared table in the server and a plain value in tests.
package protocol LeaseLookup {
    func functionEntry(service: String, function: String) -> FunctionEntry?
    /// With `includingDraining`, a draining instance counts too (its name lies below `S`).
    func serviceHasLive(_ service: String, now: Instant, includingDraining: Bool) -> Bool
}

extension LeaseTable: LeaseLookup {
    package func functionEntry(service: String, function: String) -> FunctionEntry? {
        entry(service: service, function: function)
    }
}

extension Registry: LeaseLookup {
    package func functionEntry(service: String, function: String) -> FunctionEntry? {
        entry(FunctionKey(service: service, function: function))
    }
    package func serviceHasLive(_ service: String, now: Instant, includingDraining: Bool) -> Bool {
        read { $0.serviceHasLive(service, now: now, includingDraining: includingDraining) }
    }
}
