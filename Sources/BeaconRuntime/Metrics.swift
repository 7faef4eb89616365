import DNSServer
import HTTPControl
import Leases
import Synchronization

/// Renders `/metrics` in the Prometheus text exposition format (version 0.0.4).
struct MetricsText {
    private var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for sample in samples {
            text += sample.labels.isEmpty ? "\(name) \(sample.value)\n" : "\(name){\(sample.labels)} \(sample.value)\n"
        }
    }

    mutating func single(_ name: String, _ type: String, _ help: String, _ value: some BinaryInteger) {
        family(name, type, help, [("", String(value))])
    }

    static func render(dns: DNSCounters, registry: Registry, http: HTTPCounters, extra: [(inout MetricsText) -> Void])
        -> String
    {
        var metrics = MetricsText()
        metrics.family(
            "beacon_dns_queries_total", "counter", "DNS queries answered, by query type.",
            dns.queriesByType.map { ("type=\"\($0.0)\"", String($0.1)) })
        metrics.family(
            "beacon_dns_responses_total", "counter", "DNS responses sent, by RCODE.",
            dns.responsesByRCode.filter { $0.1 > 0 || ["NOERROR", "NXDOMAIN", "REFUSED"].contains($0.0) }.map {
                ("rcode=\"\($0.0)\"", String($0.1))
            })
        metrics.family(
            "beacon_dns_transport_queries_total", "counter", "DNS queries received, by transport.",
            [
                ("transport=\"udp\"", String(dns.udpQueries.load(ordering: .relaxed))),
                ("transport=\"tcp\"", String(dns.tcpQueries.load(ordering: .relaxed))),
            ])
        metrics.single(
            "beacon_dns_truncated_total", "counter", "UDP responses sent with TC set.",
            dns.truncated.load(ordering: .relaxed))
        metrics.single(
            "beacon_dns_dropped_total", "counter", "DNS messages dropped without a reply (junk, QR set, oversized).",
            dns.dropped.load(ordering: .relaxed))
        metrics.single(
            "beacon_dns_forwarded_total", "counter", "Queries forwarded to an upstream.",
            dns.forwarded.load(ordering: .relaxed))
        metrics.single(
            "beacon_dns_rate_limited_total", "counter", "UDP responses dropped or slipped by --rrl.",
            dns.rateLimited.load(ordering: .relaxed))
        metrics.single(
            "beacon_dns_tcp_connections_rejected_total", "counter", "TCP connections refused at --max-tcp-connections.",
            dns.tcpConnectionsRejected.load(ordering: .relaxed))
        metrics.single(
            "beacon_dns_tcp_connections_timed_out_total", "counter", "TCP connections closed when idle.",
            dns.tcpConnectionsTimedOut.load(ordering: .relaxed))
        metrics.single("beacon_instances", "gauge", "Instances in the table.", registry.count)
        metrics.single(
            "beacon_registrations_total", "counter", "Registrations of new ids accepted.",
            registry.counters.registrations.load(ordering: .relaxed))
        metrics.single(
            "beacon_replacements_total", "counter", "Registrations that replaced a live instance with the same id.",
            registry.counters.replacements.load(ordering: .relaxed))
        metrics.single(
            "beacon_recovered_instances", "gauge", "Instances recovered from the data directory at start.",
            registry.counters.recovered.load(ordering: .relaxed))
        metrics.single(
            "beacon_deregistrations_total", "counter", "Deregistrations accepted.",
            registry.counters.deregistrations.load(ordering: .relaxed))
        metrics.single(
            "beacon_heartbeats_total", "counter", "Heartbeats accepted.",
            registry.counters.heartbeats.load(ordering: .relaxed))
        metrics.single(
            "beacon_expirations_total", "counter", "Leases that ended without a heartbeat.",
            registry.counters.expirations.load(ordering: .relaxed))
        metrics.single(
            "beacon_limit_rejections_total", "counter", "Registrations refused at --max-instances or --max-instances-per-function.",
            registry.counters.limitRejections.load(ordering: .relaxed))
        metrics.family(
            "beacon_http_requests_total", "counter", "HTTP requests answered, by status.",
            http.requestsByStatus.map { ("status=\"\($0.0)\"", String($0.1)) })
        metrics.single(
            "beacon_http_connections_rejected_total", "counter", "HTTP connections refused at --max-http-connections.",
            http.connectionsRejected.load(ordering: .relaxed))
        metrics.single(
            "beacon_http_connections_timed_out_total", "counter",
            "HTTP connections closed for idleness, a request or a TLS handshake that arrived too slowly.",
            http.connectionsTimedOut.load(ordering: .relaxed))
        metrics.single(
            "beacon_http_tls_handshake_failures_total", "counter",
            "TLS connections closed for a failed handshake or record (plain HTTP, an unverified certificate).",
            http.tlsFailures.load(ordering: .relaxed))
        metrics.single(
            "beacon_http_watches_waiting", "gauge", "Blocking queries waiting for a change.",
            http.watchesWaiting.load(ordering: .relaxed))
        for add in extra { add(&metrics) }
        return metrics.text
    }
}
