// BeaconRuntime: assembles a running server from a `ServeConfig`: zones, the lease table and its
// store, the DNS and HTTP listeners, the expiry sweep, and an orderly stop.
import DNSWire
import Leases
import PosixIO
import TLS

/// Everything `beacon serve` can be told, with the contract's defaults.
package struct ServeConfig: Sendable {
    /// `--dns`, repeatable: each address gets its own UDP sockets, TCP listener and counters.
    package var dnsAddresses = [SocketAddress(parsing: "127.0.0.1:8053")!]
    /// `--http`, repeatable.
    package var httpAddresses = [SocketAddress(parsing: "127.0.0.1:8054")!]
    /// The first DNS listener (tests and single-listener callers set it).
    package var dnsAddress: SocketAddress {
        get { dnsAddresses[0] }
        set { dnsAddresses = [newValue] }
    }
    package var httpAddress: SocketAddress {
        get { httpAddresses[0] }
        set { httpAddresses = [newValue] }
    }
    package var domain = try! DomainName("local.")
    package var zonesDirectory = "./zones"
    /// Whether `zonesDirectory` was given explicitly (then it must exist).
    package var zonesDirectoryExplicit = false
    /// Nil with `--in-memory`.
    package var dataDirectory: String? = "./data"
    /// Journal bytes after which the table is snapshotted and the journal restarted.
    package var journalCompactionBytes = 64 << 20
    package var maxTTL: UInt32 = 30
    package var upstreams: [SocketAddress] = []
    package var tokenFile: String? = nil
    package var etcdEndpoints: [SocketAddress] = []
    /// Each etcd endpoint's host as written in `--store`, which its certificate must name with `etcds://`.
    package var etcdHosts: [String] = []
    /// `etcds://`: TLS to the etcd members (`--etcd-ca`, `--etcd-cert`, `--etcd-key`); nil is plain HTTP.
    package var etcdTLS: TLSClientSettings? = nil
    /// HTTPS for the side channel (`--tls-cert`, `--tls-key`, `--tls-client-ca`); nil is plain HTTP.
    package var tls: TLSServerSettings? = nil
    package var udpThreads = max(1, Posix.availableCPUs())
    package var httpThreads = max(1, Posix.availableCPUs())
    package var tcpThreads = max(1, Posix.availableCPUs())
    package var limits = LeaseLimits()
    package var tcpMaxConnections = 4096
    package var tcpIdleMilliseconds = 10_000
    /// A DNS message over TCP must arrive in full this long after its first byte.
    package var tcpMessageMilliseconds = 2_000
    package var httpMaxConnections = 4096
    package var httpIdleMilliseconds = 60_000
    package var httpHeaderTimeoutMilliseconds = 10_000
    /// The largest UDP reply (a client gets min(its EDNS size, this)) and the size our OPT
    /// advertises: Knot's `udp-max-payload`.
    package var udpMaxPayload = Int(EDNS.defaultUDPMaxPayload)
    /// UDP responses per second per source prefix; nil is off.
    package var responseRateLimit: Int? = nil
    package var logLevel = Log.Level.info
    package var logFormat = Log.Format.text

    package init() {}
}

/// Why the server could not start: one line for stderr naming the flag, file:line or address.
package struct StartupError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
