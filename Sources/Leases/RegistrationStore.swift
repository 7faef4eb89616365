/// Where registrations are kept: in memory, in the journal on disk, or in etcd.
///
/// Mutations complete through a callback because a durable store answers only after its write is
/// safe (an fsync, or etcd's reply); the HTTP layer sends its `200` from the callback. Every store
/// applies accepted mutations to the same `Registry`, which DNS answers from.
package protocol RegistrationStore: Sendable {
    var registry: Registry { get }
    /// Registers `spec`. `allowedServices` is the caller's token scope (nil: any service): a live id
    /// of a service outside it is not replaced (`LeaseError.ownedByAnotherService`, a 403), checked
    /// atomically with the write.
    func register(
        _ spec: InstanceSpec, allowedServices: Set<String>?,
        completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void)
    func renew(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void)
    /// Completes with the removed instance, from which the caller reads its drain.
    func deregister(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void)
    /// Nil when the store can take writes; otherwise why not (shown by `/healthz`).
    var unavailableReason: String? { get }
    /// Renews at once when the store needs no round trip to do it (heartbeats are not journaled);
    /// nil when the caller must use `renew(id:completion:)`. The HTTP heartbeat path uses it to
    /// answer without closures.
    func renewImmediately(id: String) -> Result<Instance, StoreError>?
    /// Finishes what is queued and lets go of the store's resources (a journal's writer thread and
    /// directory lock, an etcd store's workers). Later writes fail with `.unavailable`.
    func close()
}

extension RegistrationStore {
    package func renewImmediately(id: String) -> Result<Instance, StoreError>? { nil }
    package func close() {}

    /// Registers with no token scope.
    package func register(_ spec: InstanceSpec, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        register(spec, allowedServices: nil, completion: completion)
    }
}

/// Why a store did not apply a mutation.
package enum StoreError: Error, Sendable, Equatable {
    /// The table refused it (400 or 404 by case).
    case lease(LeaseError)
    /// The store cannot take writes now: disk full, read-only, etcd unreachable (503).
    case unavailable(String)
}

/// Keeps nothing on disk (`--in-memory`): mutations apply at once.
package final class MemoryStore: RegistrationStore {
    package let registry: Registry
    private let clock: @Sendable () -> Instant

    package init(registry: Registry, clock: @escaping @Sendable () -> Instant) {
        self.registry = registry
        self.clock = clock
    }

    package func register(
        _ spec: InstanceSpec, allowedServices: Set<String>?,
        completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void
    ) {
        do throws(LeaseError) {
            completion(.success(try registry.register(spec, now: clock(), allowedServices: allowedServices).instance))
        } catch {
            completion(.failure(.lease(error)))
        }
    }

    package func renew(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        completion(renewImmediately(id: id)!)
    }

    package func deregister(id: String, completion: @escaping @Sendable (Result<Instance, StoreError>) -> Void) {
        if let instance = registry.deregister(id: id, now: clock()) {
            completion(.success(instance))
        } else {
            completion(.failure(.lease(.unknownInstance(id))))
        }
    }

    package var unavailableReason: String? { nil }

    package func renewImmediately(id: String) -> Result<Instance, StoreError>? {
        registry.renew(id: id, now: clock()).map { .success($0) } ?? .failure(.lease(.unknownInstance(id)))
    }
}
