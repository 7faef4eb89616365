import Primitives
import HTTPWire
import Leases
import PosixIO
import Synchronization

/// The `/v1` API, `/healthz`, `/metrics` and the status page (`/`, `/ui`, `/ui/lib.js`, `/ui/app.js`, `/ui/style.css`):
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
    let tokenTable: Locked<TokenTable?>
    /// `F.S` names a static CNAME owns (a registration there is refused with 409), replaced by a reload.
    let cnameOwners = Locked<[FunctionKey: String]>([:])
    /// Reloads the zones and the token file (`POST /v1/reload`); nil until the server sets it.
    let reloadHandler = Locked<(@Sendable () -> ReloadOutcome)?>(nil)

    /// Sets what `POST /v1/reload` runs.
    package func setReloadHandler(_ handler: @escaping @Sendable () -> ReloadOutcome) {
        reloadHandler.withLock { $0 = handler }
    }
    package let settings: Settings
    package let counters: HTTPCounters
    let clock: @Sendable () -> Instant
    let metrics: @Sendable () -> String
    let log: Log?
    let random = Locked(SplitMix64(seed: 0x5EED))
    /// The status page with this server's domain and DNS address filled in, built once.
    let statusPage: [UInt8]

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
