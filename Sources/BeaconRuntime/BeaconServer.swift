import Authority
import DNSServer
import DNSWire
import EtcdStore
import HTTPControl
import HTTPWire
import Journal
import Leases
import PosixIO

/// A running Beacon: build it with `start`, end it with `stop`.
package final class BeaconServer: Sendable {
    package let config: ServeConfig
    package let registry: Registry
    package let store: any RegistrationStore
    package let dnsCounters: DNSCounters
    package let log: Log
    private let udp: UDPServer
    private let tcp: TCPServer
    private let http: HTTPServer
    private let sweeper: ExpirySweeper
    private let forwarder: Forwarder?
    private let etcd: EtcdStore?
    package let httpAddress: SocketAddress
    /// Where the listeners ended up (port 0 in the config picks a free port).
    package let dnsAddress: SocketAddress

    /// Loads zones, opens the store, and binds every listener, so that any failure happens here with
    /// one clear message and nothing left running.
    package static func start(_ config: ServeConfig, log: Log) throws(StartupError) -> BeaconServer {
        let startedAt = Posix.wallClockSeconds()
        let zones = try ZoneLoader.load(
            directory: config.zonesDirectory, mustExist: config.zonesDirectoryExplicit, domain: config.domain,
            nameServerAddress: config.dnsAddress)
        // Logged once everything is bound, so that a failed start prints exactly one line.
        var notes = zones.zones.map { "serving zone \($0.origin)" }
        let tokens = try loadTokens(config.tokenFile)
        // Indexes start from the wall clock (microseconds; a clock before 1970 starts them at 1). With
        // a data directory, recovery then raises them past every index recorded before the restart.
        let registry = Registry(
            limits: config.limits, initialIndex: UInt64(max(1, (Posix.wallClockSeconds() * 1_000_000).rounded(.down))))
        let clock: @Sendable () -> Instant = { Instant(nanoseconds: Posix.monotonicNanoseconds()) }
        let store: any RegistrationStore
        var etcd: EtcdStore? = nil
        if !config.etcdEndpoints.isEmpty {
            if let data = config.dataDirectory { notes.append("--store etcd: registrations live in etcd; \(data) is not used") }
            do throws(SystemCallError) {
                etcd = try EtcdStore(endpoints: config.etcdEndpoints, registry: registry, log: log, clock: clock)
            } catch {
                throw StartupError("--store: cannot start the etcd workers: \(error.errno)")
            }
            etcd!.start()
            store = etcd!
        } else if let dataDirectory = config.dataDirectory {
            do throws(JournalError) {
                store = try JournalStore.open(
                    directory: dataDirectory, registry: registry, log: log, clock: clock,
                    options: JournalOptions(compactionThreshold: config.journalCompactionBytes))
            } catch {
                throw StartupError("--data \(dataDirectory): \(error.message)")
            }
        } else {
            store = MemoryStore(registry: registry, clock: clock)
        }
        let resolver = Resolver(zones: zones, dynamic: DynamicNames(apex: config.domain, maxTTL: config.maxTTL))
        let counters = DNSCounters()
        let fast = FastResponder(resolver: resolver, udpMaxPayload: config.udpMaxPayload)
        notes.append("fast path: \(fast.templates.count) static answers prepared")
        let engine = DNSEngine(
            responder: Responder(
                resolver: resolver, forwarding: !config.upstreams.isEmpty, udpMaxPayload: config.udpMaxPayload),
            fast: fast,
            registry: registry, counters: counters)
        var forwarder: Forwarder? = nil
        var udpForward: UDPServer.ForwardHandler? = nil
        var tcpForward: TCPServer.ForwardHandler? = nil
        if !config.upstreams.isEmpty {
            do throws(SystemCallError) {
                let created = try Forwarder(options: Forwarder.Options(upstreams: config.upstreams))
                created.start()
                forwarder = created
                udpForward = { query, client, socket in
                    created.forward(query, clientLimit: Forwarder.udpLimit(of: query, maximum: config.udpMaxPayload)) {
                        reply in
                        _ = reply.withUnsafeBytes { try? Posix.send(socket, from: $0, to: client) }
                    }
                }
                tcpForward = { query, completion in
                    created.forward(query, clientLimit: 0xFFFF) { completion($0) }
                }
            } catch {
                (store as? JournalStore)?.close()
                etcd?.stop()
                throw StartupError("--upstream: \(error)")
            }
            notes.append("forwarding names outside the served zones to \(config.upstreams.map(\.description).joined(separator: ", "))")
        }
        let udp = UDPServer(engine: engine, forward: udpForward, responsesPerSecond: config.responseRateLimit)
        /// Undoes what started so far, for a start-up that fails part-way.
        let abandon = { (tcp: TCPServer?) in
            tcp?.stop()
            udp.stop()
            forwarder?.stop()
            (store as? JournalStore)?.close()
            etcd?.stop()
        }
        let tcp: TCPServer
        do throws(SystemCallError) {
            tcp = try TCPServer(engine: engine, forward: tcpForward)
        } catch {
            abandon(nil)
            throw StartupError("--dns \(config.dnsAddress): \(error.errno)")
        }
        var dnsAddress = config.dnsAddress
        do throws(SystemCallError) {
            // TCP first: with port 0 it picks the port, and UDP then binds the same one.
            dnsAddress = try tcp.start(
                address: config.dnsAddress, maximumConnections: config.tcpMaxConnections,
                idleMilliseconds: config.tcpIdleMilliseconds)
            try udp.start(address: dnsAddress, threads: config.udpThreads)
        } catch {
            abandon(tcp)
            throw StartupError("--dns \(config.dnsAddress): \(error.errno)")
        }
        let httpCounters = HTTPCounters()
        var operatorMetrics = [OperatorMetrics.build(startedAtSeconds: startedAt)]
        if let journal = store as? JournalStore { operatorMetrics.append(OperatorMetrics.journal(journal)) }
        if let etcd { operatorMetrics.append(OperatorMetrics.etcd(etcd, clock: clock)) }
        let extraMetrics = operatorMetrics
        let negativeTTL = zones.zone(for: config.domain)?.negativeSOA.ttl ?? 5
        let api = ControlAPI(
            store: store, tokens: tokens,
            settings: ControlAPI.Settings(
                domain: config.domain.description, maxTTL: config.maxTTL, negativeTTL: negativeTTL,
                dnsAddress: dnsAddress.description, version: "\(BuildInfo.version) (\(BuildInfo.commit))"),
            counters: httpCounters, clock: clock,
            metrics: { MetricsText.render(dns: counters, registry: registry, http: httpCounters, extra: extraMetrics) },
            log: log)
        var options = HTTPServer.Options()
        options.threads = config.httpThreads
        options.maximumConnections = config.httpMaxConnections
        options.idleMilliseconds = config.httpIdleMilliseconds
        options.requestTimeoutMilliseconds = config.httpHeaderTimeoutMilliseconds
        let http = HTTPServer(api: api, options: options)
        let httpAddress: SocketAddress
        do throws(SystemCallError) {
            httpAddress = try http.start(address: config.httpAddress)
        } catch {
            abandon(tcp)
            throw StartupError("--http \(config.httpAddress): \(error.errno)")
        }
        let sweeper = ExpirySweeper(registry: registry)
        sweeper.start()
        for note in notes { log.info(note) }
        log.info("dns listening on \(dnsAddress) (udp x\(config.udpThreads), tcp)")
        log.info("http listening on \(httpAddress)")
        return BeaconServer(
            config: config, registry: registry, store: store, dnsCounters: counters, log: log, udp: udp, tcp: tcp,
            http: http, sweeper: sweeper, forwarder: forwarder, etcd: etcd, dnsAddress: dnsAddress,
            httpAddress: httpAddress)
    }

    private static func loadTokens(_ path: String?) throws(StartupError) -> TokenTable? {
        guard let path else { return nil }
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try Files.read(path)
        } catch {
            throw StartupError("--token-file \(path): cannot read: \(error.errno)")
        }
        do throws(TokenFileError) {
            return try TokenTable(parsing: String(decoding: bytes, as: UTF8.self), fileName: path)
        } catch {
            throw StartupError("--token-file \(error.message)")
        }
    }

    private init(
        config: ServeConfig, registry: Registry, store: any RegistrationStore, dnsCounters: DNSCounters, log: Log,
        udp: UDPServer, tcp: TCPServer, http: HTTPServer, sweeper: ExpirySweeper, forwarder: Forwarder?,
        etcd: EtcdStore?, dnsAddress: SocketAddress, httpAddress: SocketAddress
    ) {
        self.forwarder = forwarder
        self.etcd = etcd
        self.http = http
        self.httpAddress = httpAddress
        self.config = config
        self.registry = registry
        self.store = store
        self.dnsCounters = dnsCounters
        self.log = log
        self.udp = udp
        self.tcp = tcp
        self.sweeper = sweeper
        self.dnsAddress = dnsAddress
    }

    /// Closes the listeners and stops every thread; the journal commits what was queued, then closes.
    package func stop() {
        http.stop()
        (store as? JournalStore)?.close()
        // Before the DNS sockets close: a late forwarded reply must not be sent on a closed socket.
        forwarder?.stop()
        tcp.stop()
        udp.stop()
        sweeper.stop()
        etcd?.stop()
        log.info("stopped")
    }
}
