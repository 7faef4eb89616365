import DNSServer
import HTTPControl
import Leases
import Primitives
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

    mutating func seconds(_ name: String, _ type: String, _ help: String, nanoseconds: Int64) {
        family(name, type, help, [("", Self.secondsText(nanoseconds))])
    }

    /// A histogram of durations, in seconds (`labels` for one series of a family: `transport="udp"`).
    mutating func histogram(
        _ name: String, _ help: String, _ histogram: Histogram, labels: String = "", header: Bool = true,
        unit: HistogramUnit = .seconds
    ) {
        if header { text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n" }
        let prefix = labels.isEmpty ? "" : labels + ","
        let suffix = labels.isEmpty ? "" : "{\(labels)}"
        let counts = histogram.cumulativeCounts
        for (bound, count) in zip(histogram.bounds, counts) {
            text += "\(name)_bucket{\(prefix)le=\"\(unit.text(bound))\"} \(count)\n"
        }
        text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(counts.last ?? 0)\n"
        text += "\(name)_sum\(suffix) \(unit.text(histogram.sum))\n\(name)_count\(suffix) \(histogram.count)\n"
    }

    enum HistogramUnit {
        /// Values recorded in nanoseconds, shown in seconds.
        case seconds
        /// Values shown as recorded.
        case plain

        func text(_ value: Int64) -> String {
            switch self {
            case .seconds: MetricsText.secondsText(value)
            case .plain: String(value)
            }
        }
    }

    /// Nanoseconds as decimal seconds without trailing zeros (no Foundation formatting here).
    static func secondsText(_ nanoseconds: Int64) -> String {
        let whole = nanoseconds / 1_000_000_000
        var fraction = String(nanoseconds % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }

    static func render(
        dns: [(address: String, counters: DNSCounters)], registry: Registry, http: HTTPCounters,
        extra: [@Sendable (inout MetricsText) -> Void]
    ) -> String {
        var metrics = MetricsText()
        metrics.renderDNS(dns)
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
