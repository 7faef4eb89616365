import Authority
import DNSServer
import DNSWire
import EtcdStore
import HTTPControl
import HTTPWire
import Journal
import Leases
import Primitives
import PosixIO
import Synchronization
import TLS

/// A running Beacon: build it with `start`, end it with `stop`, reload its files with `reload`.
package final class BeaconServer: Sendable {
    package let config: ServeConfig
    package let registry: Registry
    package let store: any RegistrationStore
    package let log: Log
    private let dns: DNSListeners
    private let answers: AnswerSource
    private let http: HTTPServer
    private let api: ControlAPI
    private let sweeper: ExpirySweeper
    private let forwarder: Forwarder?
    private let etcd: EtcdStore?
    private let content: Locked<ServerContent>
    /// The side channel's TLS, with `--tls-cert`: what `reloadTLS` re-reads.
    private let tls: TLSServerContext?
    /// One reload at a time (SIGHUP and `POST /v1/reload` may race).
    private let reloading = Locked<Void>(())
    package let reloadCounters: ReloadCounters
    /// Where the listeners ended up (port 0 in the config picks a free port), in flag order.
    package let dnsAddresses: [SocketAddress]
    package let httpAddresses: [SocketAddress]
    package var dnsAddress: SocketAddress { dnsAddresses[0] }
    package var httpAddress: SocketAddress { httpAddresses[0] }
    /// The first listener's counters (tests); `/metrics` sums every listener's.
    package var dnsCounters: DNSCounters { dns.listeners[0].counters }

    /// Loads zones, opens the store, and binds every listener, so that any failure happens here with
    /// one clear message and nothing left running.
    package static func start(_ config: ServeConfig, log: Log) throws(StartupError) -> BeaconServer {
        let startedAt = Posix.wallClockSeconds()
        let content = try ServerContent.load(config, dnsAddress: config.dnsAddress)
        // Before anything starts: a bad certificate or a missing libssl ends the start-up here.
        let (tls, etcdTLS) = try loadTLS(config)
        // Logged once everything is bound, so that a failed start prints exactly one line.
        var notes = content.zones.zones.map { "serving zone \($0.origin)" }
        // Indexes start from the wall clock (microseconds; a clock before 1970 starts them at 1). With
        // a data directory, recovery then raises them past every index recorded before the restart.
        let registry = Registry(
            limits: config.limits, initialIndex: UInt64(max(1, (Posix.wallClockSeconds() * 1_000_000).rounded(.down))))
        let clock: @Sendable () -> Instant = { Instant(nanoseconds: Posix.monotonicNanoseconds()) }
        let (store, etcd) = try openStore(
            config, registry: registry, log: log, clock: clock, etcdTLS: etcdTLS, notes: &notes)
        let (responder, fast) = content.answerers(config)
        notes.append("fast path: \(fast.templates.count) static answers prepared")
        let answers = AnswerSource(responder: responder, fast: fast)
        var forwarder: Forwarder? = nil
        let closeStore = { store.close() }
        var forwarding: (UDPServer.ForwardHandler, TCPServer.ForwardHandler)? = nil
        if !config.upstreams.isEmpty {
            do throws(SystemCallError) {
                let created = try Forwarder(options: Forwarder.Options(upstreams: config.upstreams))
                created.start()
                forwarder = created
                forwarding = Self.forwardHandlers(created, udpMaxPayload: config.udpMaxPayload)
            } catch {
                closeStore()
                throw StartupError("--upstream: \(error)")
            }
            notes.append("forwarding names outside the served zones to \(config.upstreams.map(\.description).joined(separator: ", "))")
        }
        let dns: DNSListeners
        do throws(StartupError) {
            dns = try DNSListeners(
                config, source: answers, registry: registry, udpForward: forwarding?.0, tcpForward: forwarding?.1)
        } catch {
            forwarder?.stop()
            closeStore()
            throw error
        }
        let httpCounters = HTTPCounters()
        let reloadCounters = ReloadCounters()
        var operatorMetrics = [OperatorMetrics.build(startedAtSeconds: startedAt), OperatorMetrics.reloads(reloadCounters)]
        if let journal = store as? JournalStore { operatorMetrics.append(OperatorMetrics.journal(journal)) }
        if let etcd { operatorMetrics.append(OperatorMetrics.etcd(etcd, clock: clock)) }
        let extraMetrics = operatorMetrics
        let listeners = dns.listeners.map { (address: $0.address.description, counters: $0.counters) }
        let api = ControlAPI(
            store: store, tokens: content.tokens,
            settings: ControlAPI.Settings(
                domain: config.domain.description, maxTTL: config.maxTTL,
                negativeTTL: content.zones.zone(for: config.domain)?.negativeSOA.ttl ?? 5,
                dnsAddress: dns.addresses[0].description, version: "\(BuildInfo.version) (\(BuildInfo.commit))"),
            counters: httpCounters, clock: clock,
            metrics: { MetricsText.render(dns: listeners, registry: registry, http: httpCounters, extra: extraMetrics) },
            log: log)
        api.replaceCNAMEOwners(content.cnameOwners(domain: config.domain))
        var options = HTTPServer.Options()
        options.threads = config.httpThreads
        options.maximumConnections = config.httpMaxConnections
        options.idleMilliseconds = config.httpIdleMilliseconds
        options.requestTimeoutMilliseconds = config.httpHeaderTimeoutMilliseconds
        if let tls {
            options.makeSecurity = { try? tls.makeConnection() }
            options.onSecurityFailed = { reason in log.debug("https: connection failed: \(reason)") }
        }
        let http = HTTPServer(api: api, options: options)
        let httpAddresses: [SocketAddress]
        do throws(SystemCallError) {
            httpAddresses = try http.start(addresses: config.httpAddresses)
        } catch {
            http.stop()
            dns.stop()
            forwarder?.stop()
            closeStore()
            throw StartupError("--http \(config.httpAddresses.map(\.description).joined(separator: ", ")): \(error.errno)")
        }
        let sweeper = ExpirySweeper(registry: registry)
        sweeper.start()
        for note in notes { log.info(note) }
        for address in dns.addresses {
            log.info("dns listening on \(address) (udp x\(config.udpThreads), tcp x\(config.tcpThreads))")
        }
        for address in httpAddresses {
            if let tls {
                let clients = tls.requiresClientCertificate ? ", client certificates required" : ""
                // "http listening on" as for plain HTTP: scripts wait for that line.
                log.info("http listening on \(address) (https: TLS 1.2 and 1.3\(clients); \(tls.libraryVersion))")
            } else {
                log.info("http listening on \(address)")
            }
        }
        let server = BeaconServer(
            config: config, registry: registry, store: store, log: log, dns: dns, answers: answers, http: http, api: api,
            sweeper: sweeper, forwarder: forwarder, etcd: etcd, content: content, reloadCounters: reloadCounters,
            tls: tls, httpAddresses: httpAddresses)
        api.setReloadHandler { [weak server] in
            guard let server else { return .failed("the server is stopping") }
            return server.reload(reason: "POST /v1/reload")
        }
        return server
    }

    private static func openStore(
        _ config: ServeConfig, registry: Registry, log: Log, clock: @escaping @Sendable () -> Instant,
        etcdTLS: TLSClientContext?, notes: inout [String]
    ) throws(StartupError) -> (any RegistrationStore, EtcdStore?) {
        if !config.etcdEndpoints.isEmpty {
            if let data = config.dataDirectory { notes.append("--store etcd: registrations live in etcd; \(data) is not used") }
            let etcd: EtcdStore
            do throws(SystemCallError) {
                etcd = try EtcdStore(
                    endpoints: config.etcdEndpoints, registry: registry, log: log, clock: clock, tls: etcdTLS,
                    hosts: config.etcdHosts.isEmpty ? nil : config.etcdHosts)
            } catch {
                throw StartupError("--store: cannot start the etcd workers: \(error.errno)")
            }
            if let settings = config.etcdTLS {
                let client = settings.certificate.map { ", client certificate \($0.path)" } ?? ""
                notes.append("--store etcds: TLS to etcd, verified by \(settings.ca?.path ?? "the system's CAs")\(client)")
            }
            etcd.start()
            return (etcd, etcd)
        }
        guard let dataDirectory = config.dataDirectory else { return (MemoryStore(registry: registry, clock: clock), nil) }
        do throws(JournalError) {
            let store = try JournalStore.open(
                directory: dataDirectory, registry: registry, log: log, clock: clock,
                options: JournalOptions(compactionThreshold: config.journalCompactionBytes))
            return (store, nil)
        } catch {
            throw StartupError("--data \(dataDirectory): \(error.message)")
        }
    }

    private static func forwardHandlers(_ forwarder: Forwarder, udpMaxPayload: Int)
        -> (UDPServer.ForwardHandler, TCPServer.ForwardHandler)
    {
        let udp: UDPServer.ForwardHandler = { query, client, socket in
            forwarder.forward(query, clientLimit: Forwarder.udpLimit(of: query, maximum: udpMaxPayload)) { reply in
                _ = reply.withUnsafeBytes { try? Posix.send(socket, from: $0, to: client) }
            }
        }
        let tcp: TCPServer.ForwardHandler = { query, completion in
            forwarder.forward(query, clientLimit: 0xFFFF) { completion($0) }
        }
        return (udp, tcp)
    }

    private init(
        config: ServeConfig, registry: Registry, store: any RegistrationStore, log: Log, dns: DNSListeners,
        answers: AnswerSource, http: HTTPServer, api: ControlAPI, sweeper: ExpirySweeper, forwarder: Forwarder?,
        etcd: EtcdStore?, content: ServerContent, reloadCounters: ReloadCounters, tls: TLSServerContext?,
        httpAddresses: [SocketAddress]
    ) {
        self.tls = tls
        self.config = config
        self.registry = registry
        self.store = store
        self.log = log
        self.dns = dns
        self.answers = answers
        self.http = http
        self.api = api
        self.sweeper = sweeper
        self.forwarder = forwarder
        self.etcd = etcd
        self.content = Locked(content)
        self.reloadCounters = reloadCounters
        dnsAddresses = dns.addresses
        self.httpAddresses = httpAddresses
    }

    /// The side channel's TLS context and the etcd client's, loading OpenSSL only when one is asked for.
    private static func loadTLS(_ config: ServeConfig) throws(StartupError) -> (TLSServerContext?, TLSClientContext?) {
        guard config.tls != nil || config.etcdTLS != nil else { return (nil, nil) }
        do throws(TLSError) {
            _ = try LibSSL.load()
        } catch {
            throw StartupError("\(config.tls != nil ? "--tls-cert" : "--store etcds://"): \(error.message)")
        }
        do throws(TLSError) {
            let server = try config.tls.map { (settings) throws(TLSError) in try TLSServerContext(settings: settings) }
            let client = try config.etcdTLS.map { (settings) throws(TLSError) in try TLSClientContext(settings: settings) }
            return (server, client)
        } catch {
            throw StartupError(error.message)
        }
    }

    /// Re-reads `--tls-cert`, `--tls-key` and `--tls-client-ca` for new connections (certificate
    /// rotation); on failure the running ones stay and the log says why. A reload calls it.
    /// - Returns: false when the files could not be loaded; true when reloaded or TLS is off.
    @discardableResult
    package func reloadTLS() -> Bool {
        guard let tls else { return true }
        do throws(TLSError) {
            try tls.reload()
            log.info("https: reloaded \(tls.settings.certificate) and \(tls.settings.key)")
            return true
        } catch {
            log.warning("https: reload failed, keeping the running certificate: \(error.message)")
            reloadCounters.failures.add(1, ordering: .relaxed)
            return false
        }
    }

    /// Loads the zone files and the token file again and puts them in force together, or neither:
    /// a file that fails keeps the old set, is logged with its `file:line:column`, and counts in
    /// `beacon_reload_failures_total`. DNS, HTTP and the table carry on throughout; queries already
    /// being answered finish with the old zones.
    @discardableResult
    package func reload(reason: String) -> ControlAPI.ReloadOutcome {
        reloading.withLock { _ in
            let started = Posix.monotonicNanoseconds()
            let fresh: ServerContent
            do throws(StartupError) {
                fresh = try ServerContent.load(config, dnsAddress: dnsAddress)
            } catch {
                reloadCounters.failures.add(1, ordering: .relaxed)
                log.error("reload (\(reason)) failed, keeping the previous zones and tokens: \(error.message)")
                return .failed(error.message)
            }
            let (responder, fast) = fresh.answerers(config)
            let old = content.withLock { current in
                defer { current = fresh }
                return current
            }
            answers.replace(responder: responder, fast: fast)
            api.replaceTokens(fresh.tokens)
            // The certificate and key too (rotation); a failure there keeps the running certificate.
            reloadTLS()
            api.replaceCNAMEOwners(fresh.cnameOwners(domain: config.domain))
            reloadCounters.successes.add(1, ordering: .relaxed)
            reloadCounters.lastSuccessSeconds.store(Int64(Posix.wallClockSeconds()), ordering: .relaxed)
            let summary = fresh.changes(from: old)
            let milliseconds = Double(Posix.monotonicNanoseconds() - started) / 1e6
            log.info("reloaded (\(reason)) in \((milliseconds * 10).rounded() / 10) ms: \(summary)")
            return .reloaded(summary)
        }
    }

    /// Closes the listeners and stops every thread; the journal commits what was queued, then closes.
    package func stop() {
        http.stop()
        store.close()
        // Before the DNS sockets close: a late forwarded reply must not be sent on a closed socket.
        forwarder?.stop()
        dns.stop()
        sweeper.stop()
        log.info("stopped")
    }
}

/// Reload outcomes, for `/metrics`.
package final class ReloadCounters: Sendable {
    package let successes = Atomic<UInt64>(0)
    package let failures = Atomic<UInt64>(0)
    package let lastSuccessSeconds = Atomic<Int64>(0)
    package init() {}
}
