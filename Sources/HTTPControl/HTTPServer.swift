import HTTPWire
import Leases
import Synchronization
import PosixIO

/// The HTTP side channel: one event loop per thread, each with its own listening socket on the
/// same port (SO_REUSEPORT), sessions, and watch hub.
package final class HTTPServer: @unchecked Sendable {
    // `listeners` and `threads` are set in `start` before the loops run and read in `stop`.
    package struct Options: Sendable {
        package var threads = 1
        package var maximumConnections = 4096
        package var idleMilliseconds = 60_000
        package var requestTimeoutMilliseconds = 10_000
        package var limits = HTTPRequestParser.Limits()
        /// Makes the TLS layer of each accepted connection (nil refuses it); nil serves plain HTTP.
        /// The handshake must complete within `requestTimeoutMilliseconds` of the accept.
        package var makeSecurity: (@Sendable () -> (any StreamSecurity)?)? = nil
        /// Called with the reason of each failed TLS handshake, on a loop thread.
        package var onSecurityFailed: @Sendable (String) -> Void = { _ in }
        package init() {}
    }

    private let api: ControlAPI
    private let options: Options
    private var loops: [EventLoop] = []
    private var listeners: [(loop: EventLoop, listener: StreamListener)] = []
    private var hubs: [WatchHub] = []
    private var threads: [ThreadHandle] = []

    package init(api: ControlAPI, options: Options) {
        self.api = api
        self.options = options
    }

    /// Binds and starts the loops.
    /// - Returns: the bound address (port filled in when `address` had port 0).
    package func start(address: SocketAddress) throws(SystemCallError) -> SocketAddress {
        try start(addresses: [address])[0]
    }

    /// Binds every address (`--http` repeated) on every loop, then starts the loops.
    /// - Returns: the bound addresses, in order (ports filled in where they were 0).
    package func start(addresses: [SocketAddress]) throws(SystemCallError) -> [SocketAddress] {
        var bound = addresses
        // The cap is for the server: shared out over loops and listening addresses.
        let perLoop = max(1, options.maximumConnections / max(1, options.threads * addresses.count))
        let timeouts = HTTPSession.Timeouts(
            idleNanoseconds: Int64(options.idleMilliseconds) * 1_000_000,
            requestNanoseconds: Int64(options.requestTimeoutMilliseconds) * 1_000_000)
        for index in 0..<max(1, options.threads) {
            let loop = try EventLoop()
            let hub = WatchHub(loop: loop, api: api)
            let limits = options.limits
            let counts = api.counters.shard(index)
            for position in bound.indices {
                let socket = try Sockets.tcpListener(bind: bound[position], reusePort: true)
                if index == 0 { bound[position] = try Posix.localAddress(socket.rawValue) }
                let listener = StreamListener(
                    descriptor: socket, loop: loop, maximumConnections: perLoop, idleMilliseconds: options.idleMilliseconds
                ) { [api] connection in
                    HTTPSession(
                        connection: connection, api: api, hub: hub, counts: counts, limits: limits, timeouts: timeouts)
                }
                listener.onRejected = { [api] in api.counters.connectionsRejected.add(1, ordering: .relaxed) }
                listener.onTimedOut = { [api] in api.counters.connectionsTimedOut.add(1, ordering: .relaxed) }
                if let makeSecurity = options.makeSecurity {
                    listener.makeSecurity = makeSecurity
                    listener.handshakeMilliseconds = options.requestTimeoutMilliseconds
                    let report = options.onSecurityFailed
                    listener.onSecurityFailed = { [api] reason in
                        api.counters.tlsFailures.add(1, ordering: .relaxed)
                        report(reason)
                    }
                }
                try listener.start()
                listeners.append((loop, listener))
            }
            loops.append(loop)
            hubs.append(hub)
        }
        // Weak: the registry outlives nothing here, but a strong hub would close a cycle
        // (registry → listener → hub → API → store → registry) and keep a stopped server alive.
        let pairs = zip(loops, hubs).map { (loop: $0, hub: LoopBound($1, loop: $0), parked: $1.parked) }
        api.registry.addListener { change in
            for pair in pairs {
                guard pair.parked.count.load(ordering: .relaxed) > 0 else { continue }
                let bound = pair.hub
                pair.loop.execute { bound.value?.notify(change.functions + [.allServices]) }
            }
        }
        for (number, loop) in loops.enumerated() {
            threads.append(Threads.start(name: "beacon-http-\(number)") { loop.run() })
        }
        return bound
    }

    /// Stops accepting, closes every connection and stops the loops.
    package func stop() {
        for (loop, listener) in listeners { loop.execute { listener.stop() } }
        for loop in loops { loop.stop() }
        for thread in threads { thread.join() }
    }
}
