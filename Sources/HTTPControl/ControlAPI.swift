import Primitives
import HTTPWire
import Leases
import PosixIO
import Synchronization

/// The `/v1` API, `/healthz`, `/metrics` and the status page (`/`, `/ui`, `/ui/app.js`, `/ui/style.css`):
/// requests in, responses out.
///
/// Runs on an HTTP loop thread and never blocks it: a store write answers through `reply` (possibly
/// before `handle` returns, for the in-memory store), and a blocking query comes back as `.watch`
/// for the connection to park.
package final class ControlAPI: Sendable {
    package struct Settings: Sendable {
        /// The registration domain, for the DNS names the status page shows.
        package var domain: String
        package var maxTTL: UInt32
        /// The TTL of a negative answer in the domain (what `ttl` reports for a function with no instance).
        package var negativeTTL: UInt32
        /// The bound DNS listener (`127.0.0.1:8053`), for the `dig` line the status page shows; empty if unknown.
        package var dnsAddress: String
        /// The server's version, for `/healthz` and the status page; empty if unknown.
        package var version: String

        package init(domain: String, maxTTL: UInt32, negativeTTL: UInt32, dnsAddress: String = "", version: String = "") {
            self.domain = domain
            self.maxTTL = maxTTL
            self.negativeTTL = negativeTTL
            self.dnsAddress = dnsAddress
            self.version = version
        }
    }

    package enum Outcome {
        case respond(HTTPResponse)
        /// `reply` has been or will be called.
        case pending
        /// Answer `functionResponse(key)` once the function's index exceeds `afterIndex`, or after the wait.
        case watch(key: FunctionKey, afterIndex: UInt64, waitMilliseconds: Int)
    }

    package let store: any RegistrationStore
    /// Whether writes need a token (`--token-file`); fixed for the server's life, while the table
    /// itself is replaced by a reload.
    package let tokensRequired: Bool
    private let tokenTable: Locked<TokenTable?>
    /// `F.S` names a static CNAME owns (a registration there is refused with 409), replaced by a reload.
    private let cnameOwners = Locked<[FunctionKey: String]>([:])
    /// Reloads the zones and the token file (`POST /v1/reload`); nil until the server sets it.
    private let reloadHandler = Locked<(@Sendable () -> ReloadOutcome)?>(nil)

    /// Sets what `POST /v1/reload` runs.
    package func setReloadHandler(_ handler: @escaping @Sendable () -> ReloadOutcome) {
        reloadHandler.withLock { $0 = handler }
    }
    package let settings: Settings
    package let counters: HTTPCounters
    private let clock: @Sendable () -> Instant
    private let metrics: @Sendable () -> String
    private let log: Log?
    private let random = Locked(SplitMix64(seed: 0x5EED))
    /// The status page with this server's domain and DNS address filled in, built once.
    private let statusPage: [UInt8]

    /// The longest a blocking query may wait (CONTRACT: at most 10 minutes), and its default.
    package static let maximumWaitMilliseconds = 600_000
    package static let defaultWaitMilliseconds = 300_000

    package init(
        store: any RegistrationStore, tokens: TokenTable?, settings: Settings, counters: HTTPCounters,
        clock: @escaping @Sendable () -> Instant, metrics: @escaping @Sendable () -> String, log: Log? = nil
    ) {
        self.log = log
        self.store = store
        tokensRequired = tokens != nil
        tokenTable = Locked(tokens)
        self.settings = settings
        self.counters = counters
        self.clock = clock
        self.metrics = metrics
        statusPage = StatusPage.html(
            domain: settings.domain, dnsAddress: settings.dnsAddress, version: settings.version)
    }

    package var registry: Registry { store.registry }

    /// The token table in force.
    package var tokens: TokenTable? { tokenTable.withLock { $0 } }

    /// Puts a reloaded token table in force: removed tokens stop working with the next request.
    package func replaceTokens(_ tokens: TokenTable?) { tokenTable.withLock { $0 = tokens } }

    /// Puts the `F.S` names owned by static CNAMEs (from the zones) in force.
    package func replaceCNAMEOwners(_ owners: [FunctionKey: String]) { cnameOwners.withLock { $0 = owners } }

    /// What a reload did, for `POST /v1/reload`.
    package enum ReloadOutcome: Sendable {
        case reloaded(String)
        case failed(String)
    }

    // MARK: - Routing

    /// - Parameter certificateNames: the names in the client's verified TLS certificate (CN, then
    ///   subjectAltNames), which `cert:` lines of the token file may grant services to.
    package func handle(
        _ request: HTTPRequest, certificateNames: [String] = [], reply: @escaping @Sendable (HTTPResponse) -> Void
    ) -> Outcome {
        // Split before decoding: `%2F` inside an id must not make another route (`.../a%2Fheartbeat`).
        let segments = request.pathSegments
        let method = request.method == .head ? HTTPMethod.get : request.method
        switch (segments.count, segments.first) {
        case (0, _), (1, "ui"):
            guard method == .get else { return .respond(notAllowed("GET")) }
            return .respond(HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: statusPage))
        case (2, "ui"):
            guard let asset = StatusPage.assets[segments[1]] else { return .respond(notFound()) }
            guard method == .get else { return .respond(notAllowed("GET")) }
            return .respond(HTTPResponse(status: 200, contentType: asset.contentType, body: asset.body))
        case (1, "healthz"):
            guard method == .get else { return .respond(notAllowed("GET")) }
            if let reason = store.unavailableReason {
                return .respond(
                    json(503) {
                        $0.field("status", "unavailable")
                        $0.field("error", reason)
                        if !settings.version.isEmpty { $0.field("version", settings.version) }
                    })
            }
            return .respond(
                json(200) {
                    $0.field("status", "ok")
                    if !settings.version.isEmpty { $0.field("version", settings.version) }
                })
        case (1, "metrics"):
            guard method == .get else { return .respond(notAllowed("GET")) }
            return .respond(
                HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", body: Array(metrics().utf8)))
        default:
            break
        }
        guard segments.first == "v1" else { return .respond(notFound()) }
        let rest = Array(segments.dropFirst())
        switch (rest.count, rest.first) {
        case (1, "register"):
            guard method == .post else { return .respond(notAllowed("POST")) }
            return register(request, certificateNames: certificateNames, reply: reply)
        case (1, "reload"):
            guard method == .post else { return .respond(notAllowed("POST")) }
            return reload(request, certificateNames: certificateNames, reply: reply)
        case (1, "discover"):
            guard method == .post else { return .respond(notAllowed("POST")) }
            do throws(BodyError) {
                return .respond(functionResponse(try RequestBodies.discover(request.body)))
            } catch {
                return .respond(HTTPResponse.error(status: 400, message: error.message))
            }
        case (1, "services"):
            guard method == .get else { return .respond(notAllowed("GET")) }
            return blockingQuery(.allServices, request: request)
        case (3, "services"):
            guard method == .get else { return .respond(notAllowed("GET")) }
            return functionQuery(service: rest[1], function: rest[2], request: request)
        case (2, "instances"):
            switch method {
            case .get: return .respond(instanceResponse(id: rest[1]))
            case .delete: return deregister(id: rest[1], request: request, certificateNames: certificateNames, reply: reply)
            default: return .respond(notAllowed("GET, DELETE"))
            }
        case (3, "instances") where rest[2] == "heartbeat":
            guard method == .post else { return .respond(notAllowed("POST")) }
            return heartbeat(id: rest[1], request: request, certificateNames: certificateNames, reply: reply)
        default:
            return .respond(notFound())
        }
    }

    // MARK: - The heartbeat path

    /// Answers `POST /v1/instances/{id}/heartbeat` straight into `buffer`, when the store renews at
    /// once and no token is needed: no closures, no intermediate body. The endpoint a whole fleet
    /// calls every few seconds. Writes nothing and returns false otherwise (the general path answers).
    package func answerHeartbeat(
        _ request: HTTPRequest, jitter: Double, counts: HTTPStatusCounts, into buffer: inout [UInt8]
    ) -> Bool {
        guard !tokensRequired, request.method == .post, let id = Self.heartbeatID(request.rawPath),
            let result = store.renewImmediately(id: id)
        else { return false }
        switch result {
        case .success(let instance):
            let next = TTLPolicy.nextHeartbeat(ttl: instance.spec.ttl, jitter: jitter)
            HTTPResponse.writeJSON(status: 200, close: !request.keepAlive, into: &buffer) { writer in
                writer.object {
                    $0.field("id", instance.id)
                    $0.field("ttl", Int(instance.spec.ttl))
                    $0.field("next_heartbeat_in", next)
                }
            }
            counts.count(status: 200)
        case .failure(let error):
            var response = storeError(error)
            response.close = !request.keepAlive
            response.write(into: &buffer)
            counts.count(status: response.status)
        }
        return true
    }

    /// The lower-case id in `/v1/instances/{id}/heartbeat` (the path as received, still encoded), or nil
    /// for any other path. An escaped id is no label here: the general route decodes it.
    static func heartbeatID(_ path: String) -> String? {
        let prefix = "/v1/instances/"
        let suffix = "/heartbeat"
        let utf8 = path.utf8
        guard utf8.count > prefix.utf8.count + suffix.utf8.count, path.hasPrefix(prefix), path.hasSuffix(suffix) else {
            return nil
        }
        let start = utf8.index(utf8.startIndex, offsetBy: prefix.utf8.count)
        let end = utf8.index(utf8.endIndex, offsetBy: -suffix.utf8.count)
        guard let id = String(utf8[start..<end]) else { return nil }
        return LabelRules.normalize(id)
    }

    // MARK: - Mutations

    private func register(
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
    private func reload(_ request: HTTPRequest, certificateNames: [String], reply: @escaping @Sendable (HTTPResponse) -> Void)
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

    private func heartbeat(
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

    private func deregister(
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

    // MARK: - Reads

    private func functionQuery(service: String, function: String, request: HTTPRequest) -> Outcome {
        guard let service = LabelRules.normalize(service) else {
            return .respond(HTTPResponse.error(status: 400, message: "service: must be \(LabelRules.ruleDescription)"))
        }
        guard let function = LabelRules.normalize(function) else {
            return .respond(HTTPResponse.error(status: 400, message: "function: must be \(LabelRules.ruleDescription)"))
        }
        return blockingQuery(FunctionKey(service: service, function: function), request: request)
    }

    /// Answers at once, or parks until the index passes `?index=N` (for at most `?wait=`).
    private func blockingQuery(_ key: FunctionKey, request: HTTPRequest) -> Outcome {
        guard let indexText = request.queryValue("index") else {
            if request.queryValue("wait") != nil {
                return .respond(HTTPResponse.error(status: 400, message: "wait: needs index (a blocking query)"))
            }
            return .respond(watchResponse(key))
        }
        guard let index = UInt64(indexText) else {
            return .respond(HTTPResponse.error(status: 400, message: "index: must be a non-negative integer"))
        }
        var wait = Self.defaultWaitMilliseconds
        if let waitText = request.queryValue("wait") {
            guard let parsed = parseWaitMilliseconds(waitText), parsed <= Self.maximumWaitMilliseconds else {
                return .respond(
                    HTTPResponse.error(
                        status: 400, message: "wait: must be a duration such as 500ms, 30s or 5m, at most 10m"))
            }
            wait = parsed
        }
        // An index above the table's own was handed out before a reset (a restart without a data
        // directory): answer at once, so the watcher starts over from the index it gets now.
        let (current, highest) = registry.read {
            (key == .allServices ? $0.lastIndex : $0.index(of: key), $0.lastIndex)
        }
        if current > index || index > highest || wait == 0 { return .respond(watchResponse(key)) }
        return .watch(key: key, afterIndex: index, waitMilliseconds: wait)
    }

    /// The index a watch on `key` compares with: the function's, or the table's for `.allServices`.
    package func currentIndex(_ key: FunctionKey) -> UInt64 {
        key == .allServices ? registry.read { $0.lastIndex } : registry.read { $0.index(of: key) }
    }

    /// What a watch on `key` answers with.
    package func watchResponse(_ key: FunctionKey) -> HTTPResponse {
        key == .allServices ? servicesResponse() : functionResponse(key)
    }

    /// The live instances of a function, as `GET /v1/services/{service}/{function}` answers.
    package func functionResponse(_ key: FunctionKey) -> HTTPResponse {
        let now = clock()
        let (entry, index) = registry.entryAndIndex(key)
        let live = entry?.live(at: now) ?? []
        let ttl =
            live.map(\.deadline).min().map {
                TTLPolicy.answerTTL(earliestDeadline: $0, now: now, maxTTL: settings.maxTTL)
            } ?? settings.negativeTTL
        return json(200) { writer in
            writer.field("service", key.service)
            writer.field("function", key.function)
            writer.field("index", Int(clamping: index))
            writer.field("ttl", Int(ttl))
            writer.field("instances") { array in
                array.array { array in
                    for instance in live { Self.writeInstance(instance, now: now, full: false, into: &array) }
                }
            }
        }
    }

    private func servicesResponse() -> HTTPResponse {
        let now = clock()
        // Entries are copied out under the lock (one pointer per function) and counted outside it:
        // the DNS threads share that lock.
        let (entries, index) = registry.functionEntries()
        let summary = LeaseSummary.of(entries, now: now)
        return json(200) { writer in
            writer.field("index", Int(clamping: index))
            writer.field("services") { array in
                array.array { array in
                    for service in summary {
                        array.object { object in
                            object.field("service", service.service)
                            object.field("functions") { functions in
                                functions.array { functions in
                                    for function in service.functions {
                                        functions.object {
                                            $0.field("function", function.function)
                                            $0.field("instances", function.instances)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func instanceResponse(id rawID: String) -> HTTPResponse {
        let now = clock()
        guard let id = LabelRules.normalize(rawID), let instance = registry.instance(id: id, now: now) else {
            return HTTPResponse.error(status: 404, message: "no live instance with id \(rawID)")
        }
        return json(200) { Self.writeObjectFields(instance, now: now, full: true, into: &$0) }
    }

    private static func writeInstance(_ instance: Instance, now: Instant, full: Bool, into writer: inout JSONWriter) {
        writer.object { writeObjectFields(instance, now: now, full: full, into: &$0) }
    }

    private static func writeObjectFields(_ instance: Instance, now: Instant, full: Bool, into writer: inout JSONWriter) {
        let spec = instance.spec
        writer.field("id", spec.id)
        if full {
            writer.field("service", spec.service)
            writer.field("function", spec.function)
        }
        writer.field("address", spec.address.description)
        writer.field("port", Int(spec.port))
        if full { writer.field("ttl", Int(spec.ttl)) }
        writer.field("priority", Int(spec.priority))
        writer.field("weight", Int(spec.weight))
        writer.field("meta") { meta in
            meta.object { object in
                for entry in spec.meta { object.field(entry.key, entry.value) }
            }
        }
        writer.field("expires_in", rounded(max(0, instance.deadline.seconds(since: now))))
    }

    // MARK: - Authorization

    /// The caller's grant (nil when no token file is set), or the 401 to send. A request with
    /// `Authorization` is judged by its token alone; one without, from a client whose verified
    /// certificate a `cert:` line names, gets that line's services.
    private func authorize(_ request: HTTPRequest, certificateNames: [String]) -> Result<TokenTable.Entry?, ResponseBox> {
        guard tokensRequired, let tokens else { return .success(nil) }
        guard let header = request.header("authorization") else {
            if !certificateNames.isEmpty {
                if let grant = tokens.certificateGrant(for: certificateNames) { return .success(grant) }
                let message = "client certificate \(certificateNames[0]) is not in the token file, and no Authorization: Bearer token"
                return .failure(ResponseBox(unauthorized(message)))
            }
            return .failure(ResponseBox(unauthorized("missing Authorization: Bearer token")))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(ResponseBox(unauthorized("Authorization must be 'Bearer TOKEN'")))
        }
        guard let entry = tokens.entry(for: Array(parts[1].trimmingSpaces.utf8)) else {
            return .failure(ResponseBox(unauthorized("unknown token")))
        }
        return .success(entry)
    }

    /// Checks the token and that it may write the instance's service; the normalized id.
    private func authorizeInstance(_ rawID: String, _ request: HTTPRequest, certificateNames: [String])
        -> Result<String, ResponseBox>
    {
        let entry: TokenTable.Entry?
        switch authorize(request, certificateNames: certificateNames) {
        case .failure(let box): return .failure(box)
        case .success(let granted): entry = granted
        }
        guard let id = LabelRules.normalize(rawID) else {
            return .failure(ResponseBox(HTTPResponse.error(status: 404, message: "no live instance with id \(rawID)")))
        }
        if let services = entry?.services, let instance = registry.instance(id: id, now: clock()),
            !services.contains(instance.spec.service)
        {
            return .failure(ResponseBox(forbidden(instance.spec.service)))
        }
        return .success(id)
    }

    // MARK: - Responses

    private func json(_ status: Int, _ body: (inout JSONWriter) -> Void) -> HTTPResponse {
        var bytes: [UInt8] = []
        JSONWriter.write(into: &bytes) { $0.object(body) }
        return HTTPResponse(status: status, contentType: "application/json", body: bytes)
    }

    private func notFound() -> HTTPResponse { HTTPResponse.error(status: 404, message: "no such endpoint") }

    private func notAllowed(_ allowed: String) -> HTTPResponse {
        var response = HTTPResponse.error(status: 405, message: "method not allowed (allowed: \(allowed))")
        response.headers.append((name: "Allow", value: allowed))
        return response
    }

    private func unauthorized(_ message: String) -> HTTPResponse {
        var response = HTTPResponse.error(status: 401, message: message)
        response.headers.append((name: "WWW-Authenticate", value: "Bearer"))
        return response
    }

    private func forbidden(_ service: String) -> HTTPResponse {
        HTTPResponse.error(status: 403, message: "token may not write service \(service)")
    }

    private func leaseError(_ error: LeaseError) -> HTTPResponse {
        switch error {
        case .invalidField, .missingField: HTTPResponse.error(status: 400, message: error.description)
        case .tooManyInstances, .tooManyInstancesInFunction: HTTPResponse.error(status: 429, message: error.description)
        case .unknownInstance: HTTPResponse.error(status: 404, message: error.description)
        case .ownedByAnotherService: HTTPResponse.error(status: 403, message: error.description)
        }
    }

    private func storeError(_ error: StoreError) -> HTTPResponse {
        switch error {
        case .lease(let lease): leaseError(lease)
        case .unavailable(let reason): HTTPResponse.error(status: 503, message: "store unavailable: \(reason)")
        }
    }

    /// Seconds with millisecond precision, as replies carry them.
    static func rounded(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }
}

extension FunctionKey {
    /// The watch key for `GET /v1/services`: no real function has empty names.
    package static let allServices = FunctionKey(service: "", function: "")
}

/// An `HTTPResponse` as a `Result` failure.
struct ResponseBox: Error {
    var response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}

