import Clients
import HTTPWire
import PosixIO
import Synchronization
import TLS

/// The etcd members listed in `--store`, and which one answered last.
///
/// Shared by every connection: once one thread finds a member dead and moves on, the others start
/// from the member that worked instead of each timing out on the dead one.
package final class EndpointRing: Sendable {
    package let endpoints: [SocketAddress]
    /// With `etcds://`: the CA, client certificate and key every connection to a member uses.
    package let tls: TLSClientContext?
    /// Each member's host as `--store` named it, which its certificate must name.
    package let hosts: [String]
    private let preferredIndex = Atomic<Int>(0)

    package init(_ endpoints: [SocketAddress], tls: TLSClientContext? = nil, hosts: [String]? = nil) {
        precondition(!endpoints.isEmpty, "at least one etcd endpoint")
        precondition(hosts == nil || hosts!.count == endpoints.count, "one host per endpoint")
        self.endpoints = endpoints
        self.tls = tls
        self.hosts = hosts ?? endpoints.map(\.hostText)
    }

    /// Member `index` as an HTTP endpoint: `https://` with TLS.
    package func endpoint(_ index: Int) -> HTTPEndpoint {
        HTTPEndpoint(address: endpoints[index], isSecure: tls != nil, host: hosts[index])
    }

    package var preferred: Int { preferredIndex.load(ordering: .relaxed) }

    package func markGood(_ index: Int) { preferredIndex.store(index, ordering: .relaxed) }

    package var listing: String { endpoints.map(\.description).joined(separator: ",") }
}

/// A blocking connection to the etcd gateway that fails over between members.
///
/// Confined to one thread (a worker, the mirror thread, the cover thread or the key collector): it owns an
/// `HTTPClient`, which is neither copyable nor shareable. A call tries the preferred member, and on a
/// connection failure, a timeout, or a 5xx (the member has no leader, or its request timed out) the
/// next one, until each has been tried. While some member answers 5xx, rounds repeat for up to 4 s,
/// which rides out a leader election after a member was lost; when none answers at all the call
/// fails at once (etcd is down: the caller answers 503 rather than hang).
package final class EtcdConnection: @unchecked Sendable {
    package let ring: EndpointRing
    private let timeoutMilliseconds: Int
    private var client: HTTPClient?
    /// The member `client` talks to, or -1.
    package private(set) var currentIndex = -1

    package init(ring: EndpointRing, timeoutMilliseconds: Int = 3_000) {
        self.ring = ring
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// POSTs `body` to `path` (`/v3/kv/put`, ...) and returns the JSON reply of a 200.
    /// - Parameter only: talk to this member and no other (the mirror's liveness probe).
    package func call(_ path: String, _ body: JSONValue, only: Int? = nil) throws(EtcdError) -> JSONValue {
        try exchange(path, body.serialized(), only: only)
    }

    private func exchange(_ path: String, _ body: [UInt8], only: Int?) throws(EtcdError) -> JSONValue {
        var failures: [String] = []
        let started = Posix.monotonicNanoseconds()
        while true {
            var sawServerError = false
            failures.removeAll()
            let count = ring.endpoints.count
            let first = ring.preferred
            let order = only.map { [$0] } ?? (0..<count).map { (first + $0) % count }
            for index in order {
                switch attempt(path, body, at: index) {
                case .success(let reply):
                    if only == nil { ring.markGood(index) }
                    return reply
                case .failure(.rejected(let status, let message)) where status >= 500:
                    sawServerError = true
                    failures.append("\(ring.endpoints[index]): \(message)")
                    disconnect()
                case .failure(.unreachable(let text)):
                    failures.append(text)
                    disconnect()
                case .failure(let error):
                    throw error
                }
            }
            // A member that answers but cannot serve is usually waiting for a leader election.
            let elapsed = Posix.monotonicNanoseconds() - started
            guard sawServerError, elapsed < Self.electionPatienceNanoseconds else { break }
            Posix.sleep(milliseconds: 250)
        }
        throw .unreachable(failures.joined(separator: "; "))
    }

    /// How long a call keeps retrying while members answer 5xx: an election takes 1-2 s with etcd's
    /// default timings.
    static let electionPatienceNanoseconds: Int64 = 4_000_000_000

    package func disconnect() {
        client = nil
        currentIndex = -1
    }

    private func attempt(_ path: String, _ body: [UInt8], at index: Int) -> Result<JSONValue, EtcdError> {
        if currentIndex != index {
            client = HTTPClient(endpoint: ring.endpoint(index), tls: ring.tls, timeoutMilliseconds: timeoutMilliseconds)
            currentIndex = index
        }
        let headers = [("Content-Type", "application/json")]
        let outcome: Result<HTTPClientResponse, ClientError> = catching { () throws(ClientError) in
            try client!.send("POST", path, headers: headers, body: body)
        }
        let response: HTTPClientResponse
        switch outcome {
        case .failure(let error): return .failure(.unreachable("\(ring.endpoints[index]): \(error)"))
        case .success(let received): response = received
        }
        guard response.status == 200 else {
            let value = try? JSONParser.parse(response.body)
            let message = value?["message"]?.stringValue ?? value?["error"]?.stringValue ?? "HTTP \(response.status)"
            return .failure(.rejected(status: response.status, message: message))
        }
        do throws(JSONError) {
            return .success(response.body.isEmpty ? .null : try JSONParser.parse(response.body))
        } catch {
            return .failure(.unreachable("\(ring.endpoints[index]): reply is not JSON: \(error)"))
        }
    }
}
