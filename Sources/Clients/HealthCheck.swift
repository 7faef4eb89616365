import HTTPWire
import PosixIO

/// The sidecar's `--check`: is the service ready to be handed out?
///
/// `http://HOST:PORT/PATH` passes on a 2xx or 3xx reply (a redirect still proves the server is up and
/// routing, as in Consul and Kubernetes HTTP probes); `tcp://HOST:PORT` passes when a connection is
/// accepted. Each run uses a fresh connection, so a check never passes on a socket the service
/// accepted before it wedged.
package enum HealthCheck: Sendable, Equatable, CustomStringConvertible {
    case http(HTTPEndpoint)
    case tcp(SocketAddress)

    package init(parsing text: String) throws(ClientError) {
        if text.hasPrefix("http://") {
            self = .http(try HTTPEndpoint(parsing: text))
        } else if text.hasPrefix("tcp://") {
            guard let address = SocketAddress(parsing: String(text.dropFirst("tcp://".count))) else {
                throw .badURL("\(text) (expected tcp://HOST:PORT with an IP literal or localhost)")
            }
            self = .tcp(address)
        } else {
            throw .badURL("\(text) (expected http://HOST:PORT/PATH or tcp://HOST:PORT)")
        }
    }

    /// The outcome of one run: whether it passed, and a short reason for the log.
    package struct Result: Sendable, Equatable {
        package var passed: Bool
        package var detail: String

        package init(passed: Bool, detail: String) {
            self.passed = passed
            self.detail = detail
        }
    }

    /// Runs the check once, giving up after about `timeoutMilliseconds` (connect, then each read).
    package func run(timeoutMilliseconds: Int = 2_000) -> Result {
        switch self {
        case .http(let endpoint):
            var client = HTTPClient(endpoint: endpoint, timeoutMilliseconds: timeoutMilliseconds)
            do throws(ClientError) {
                let response = try client.send(
                    "GET", endpoint.path, headers: [("User-Agent", "beacon-sidecar"), ("Connection", "close")])
                let passed = (200..<400).contains(response.status)
                return Result(passed: passed, detail: "GET \(endpoint) answered \(response.status)")
            } catch {
                return Result(passed: false, detail: "GET \(endpoint): \(error)")
            }
        case .tcp(let address):
            do throws(SystemCallError) {
                _ = try Sockets.tcpConnect(to: address, timeoutMilliseconds: timeoutMilliseconds)
                return Result(passed: true, detail: "tcp://\(address) accepted")
            } catch {
                return Result(passed: false, detail: "tcp://\(address): \(error.errno)")
            }
        }
    }

    package var description: String {
        switch self {
        case .http(let endpoint): endpoint.description
        case .tcp(let address): "tcp://\(address)"
        }
    }
}
