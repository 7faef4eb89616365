import Primitives
import HTTPWire
import Leases
import PosixIO

/// Register, heartbeat, deregister and reload: each authorized, then handed to the store, which
/// answers through `reply`.
extension ControlAPI {
    func register(
        _ request: HTTPRequest, certificateNames: [String], reply: @escaping @Sendable (HTTPResponse) -> Void
    ) -> Outcome {
        let grant: TokenTable.Entry?
        switch authorize(request, certificateNames: certificateNames) {
        case .failure(let box): return .respond(box.response)
        case .success(let entry): grant = entry
        }
        let spec: InstanceSpec
        do throws(BodyError) {
            let raw = try RequestBodies.registration(request.body)
            do throws(LeaseError) {
                spec = try raw.validated()
            } catch {
                return .respond(leaseError(error))
            }
        } catch {
            return .respond(HTTPResponse.error(status: 400, message: error.message))
        }
        if let services = grant?.services, !services.contains(spec.service) {
            return .respond(forbidden(spec.service))
        }
        if let cname = cnameOwners.withLock({ $0[FunctionKey(service: spec.service, function: spec.function)] }) {
            return .respond(
                HTTPResponse.error(
                    status: 409,
                    message: "\(spec.function).\(spec.service): \(cname) is a CNAME in a zone file, and a CNAME stands alone "
                        + "(RFC 2181 10.1): a registration there would never be answered"))
        }
        if grant?.services == nil, let owner = registry.instance(id: spec.id, now: clock()), owner.spec.service != spec.service {
            // Allowed without a scope, but an id moving between services is worth a line in the log.
            log?.warning("register: id \(spec.id) moves from service \(owner.spec.service) to \(spec.service)")
        }
        store.register(spec, allowedServices: grant?.services) { [self] result in
            switch result {
            case .success(let instance):
                reply(json(200) { $0.field("id", instance.id); $0.field("ttl", Int(instance.spec.ttl)) })
            case .failure(let error):
                reply(storeError(error))
            }
        }
        return .pending
    }

    /// Reloads on a thread of its own (parsing zones takes time no loop should spend), then replies.
    /// With tokens on, it needs a token (or certificate grant) that may write every service.
    func reload(_ request: HTTPRequest, certificateNames: [String], reply: @escaping @Sendable (HTTPResponse) -> Void)
        -> Outcome
    {
        switch authorize(request, certificateNames: certificateNames) {
        case .failure(let box): return .respond(box.response)
        case .success(let entry) where entry?.services != nil:
            return .respond(HTTPResponse.error(status: 403, message: "reload needs a token for every service"))
        case .success: break
        }
        guard let reload = reloadHandler.withLock({ $0 }) else {
            return .respond(HTTPResponse.error(status: 404, message: "this server cannot reload"))
        }
        Threads.detach(name: "beacon-reload") { [self] in
            switch reload() {
            case .reloaded(let summary):
                reply(json(200) { $0.field("status", "reloaded"); $0.field("changes", summary) })
            case .failed(let reason):
                reply(json(500) { $0.field("status", "kept the previous configuration"); $0.field("error", reason) })
            }
        }
        return .pending
    }

    func heartbeat(
        id rawID: String, request: HTTPRequest, certificateNames: [String], reply: @escaping @Sendable (HTTPResponse) -> Void
    ) -> Outcome {
        let id: String
        switch authorizeInstance(rawID, request, certificateNames: certificateNames) {
        case .failure(let box): return .respond(box.response)
        case .success(let normalized): id = normalized
        }
        store.renew(id: id) { [self] result in
            switch result {
            case .success(let instance):
                let jitter = random.withLock { $0.nextUnit() }
                let next = TTLPolicy.nextHeartbeat(ttl: instance.spec.ttl, jitter: jitter)
                reply(
                    json(200) {
                        $0.field("id", instance.id)
                        $0.field("ttl", Int(instance.spec.ttl))
                        $0.field("next_heartbeat_in", next)
                    })
            case .failure(let error):
                reply(storeError(error))
            }
        }
        return .pending
    }

    func deregister(
        id rawID: String, request: HTTPRequest, certificateNames: [String], reply: @escaping @Sendable (HTTPResponse) -> Void
    ) -> Outcome {
        let id: String
        switch authorizeInstance(rawID, request, certificateNames: certificateNames) {
        case .failure(let box): return .respond(box.response)
        case .success(let normalized): id = normalized
        }
        store.deregister(id: id) { [self] result in
            switch result {
            case .success(let instance):
                let drain = Self.rounded(instance.drainSeconds(now: clock()))
                reply(json(200) { $0.field("id", instance.id); $0.field("drain", drain) })
            case .failure(let error):
                reply(storeError(error))
            }
        }
        return .pending
    }
}
