import Authority
import DNSServer
import DNSWire
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
    private let sweeper: ExpirySweeper
    /// Where the listeners ended up (port 0 in the config picks a free port).
    package let dnsAddress: SocketAddress

    /// Loads zones, opens the store, and binds every listener, so that any failure happens here with
    /// one clear message and nothing left running.
    package static func start(_ config: ServeConfig, log: Log) throws(StartupError) -> BeaconServer {
        let zones = try ZoneLoader.load(
            directory: config.zonesDirectory, mustExist: config.zonesDirectoryExplicit, domain: config.domain,
            nameServerAddress: config.dnsAddress)
        for zone in zones.zones { log.info("serving zone \(zone.origin)") }
        let registry = Registry(limits: config.limits)
        let clock: @Sendable () -> Instant = { Instant(nanoseconds: Posix.monotonicNanoseconds()) }
        let store = MemoryStore(registry: registry, clock: clock)
        let resolver = Resolver(zones: zones, dynamic: DynamicNames(apex: config.domain, maxTTL: config.maxTTL))
        let counters = DNSCounters()
        let engine = DNSEngine(responder: Responder(resolver: resolver), registry: registry, counters: counters)
        let udp = UDPServer(engine: engine)
        let tcp: TCPServer
        var dnsAddress = config.dnsAddress
        do throws(SystemCallError) {
            tcp = try TCPServer(engine: engine)
            // TCP first: with port 0 it picks the port, and UDP then binds the same one.
            dnsAddress = try tcp.start(
                address: config.dnsAddress, maximumConnections: config.tcpMaxConnections,
                idleMilliseconds: config.tcpIdleMilliseconds)
            try udp.start(address: dnsAddress, threads: config.udpThreads)
        } catch {
            throw StartupError("--dns \(config.dnsAddress): \(error.errno)")
        }
        let sweeper = ExpirySweeper(registry: registry)
        sweeper.start()
        log.info("dns listening on \(dnsAddress) (udp x\(config.udpThreads), tcp)")
        return BeaconServer(
            config: config, registry: registry, store: store, dnsCounters: counters, log: log, udp: udp, tcp: tcp,
            sweeper: sweeper, dnsAddress: dnsAddress)
    }

    private init(
        config: ServeConfig, registry: Registry, store: any RegistrationStore, dnsCounters: DNSCounters, log: Log,
        udp: UDPServer, tcp: TCPServer, sweeper: ExpirySweeper, dnsAddress: SocketAddress
    ) {
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

    /// Closes the listeners and stops every thread.
    package func stop() {
        tcp.stop()
        udp.stop()
        sweeper.stop()
        log.info("stopped")
    }
}
