import DNSServer
import Synchronization

extension MetricsText {
    /// The DNS families: totals over every listener (as before several listeners existed), then per
    /// listener by transport and RCODE, and the response sizes.
    mutating func renderDNS(_ listeners: [(address: String, counters: DNSCounters)]) {
        let all = listeners.map(\.counters)
        func total(_ value: (DNSCounters) -> UInt64) -> UInt64 { all.reduce(0) { $0 + value($1) } }
        func byName(_ pairs: (DNSCounters) -> [(String, UInt64)]) -> [(String, UInt64)] {
            guard let first = all.first else { return [] }
            return pairs(first).enumerated().map { index, pair in (pair.0, all.reduce(0) { $0 + pairs($1)[index].1 }) }
        }
        family(
            "beacon_dns_queries_total", "counter", "DNS queries answered, by query type.",
            byName(\.queriesByType).map { ("type=\"\($0.0)\"", String($0.1)) })
        family(
            "beacon_dns_responses_total", "counter", "DNS responses sent, by RCODE.",
            byName(\.responsesByRCode).filter { $0.1 > 0 || ["NOERROR", "NXDOMAIN", "REFUSED"].contains($0.0) }.map {
                ("rcode=\"\($0.0)\"", String($0.1))
            })
        family(
            "beacon_dns_transport_queries_total", "counter", "DNS queries received, by transport.",
            [
                ("transport=\"udp\"", String(total { $0.udpQueries.load(ordering: .relaxed) })),
                ("transport=\"tcp\"", String(total { $0.tcpQueries.load(ordering: .relaxed) })),
            ])
        family(
            "beacon_dns_listener_responses_total", "counter",
            "DNS responses sent, by listener (--dns), transport and RCODE.",
            listeners.flatMap { listener in
                listener.counters.responsesByTransportAndRCode.map { transport, rcode, count in
                    ("listener=\"\(listener.address)\",transport=\"\(transport)\",rcode=\"\(rcode)\"", String(count))
                }
            })
        for (index, listener) in listeners.enumerated() {
            for (transport, sizes) in [("udp", listener.counters.udpResponseSizes), ("tcp", listener.counters.tcpResponseSizes)] {
                histogram(
                    "beacon_dns_response_size_bytes", "DNS response sizes in bytes, by listener and transport.", sizes,
                    labels: "listener=\"\(listener.address)\",transport=\"\(transport)\"",
                    header: index == 0 && transport == "udp", unit: .plain)
            }
        }
        let counters: [(String, String, (DNSCounters) -> UInt64)] = [
            ("beacon_dns_truncated_total", "UDP responses sent with TC set.", { $0.truncated.load(ordering: .relaxed) }),
            (
                "beacon_dns_dropped_total", "DNS messages dropped without a reply (junk, QR set, oversized).",
                { $0.dropped.load(ordering: .relaxed) }
            ),
            ("beacon_dns_forwarded_total", "Queries forwarded to an upstream.", { $0.forwarded.load(ordering: .relaxed) }),
            ("beacon_dns_rate_limited_total", "UDP responses dropped or slipped by --rrl.", { $0.rateLimited.load(ordering: .relaxed) }),
            (
                "beacon_dns_tcp_connections_rejected_total", "TCP connections refused at --max-tcp-connections.",
                { $0.tcpConnectionsRejected.load(ordering: .relaxed) }
            ),
            (
                "beacon_dns_tcp_connections_timed_out_total",
                "TCP connections closed when idle or when a message did not arrive in full in time.",
                { $0.tcpConnectionsTimedOut.load(ordering: .relaxed) }
            ),
            (
                "beacon_dns_tcp_connections_evicted_total",
                "TCP connections closed at --max-tcp-connections to make room, the least recently active first.",
                { $0.tcpConnectionsEvicted.load(ordering: .relaxed) }
            ),
        ]
        for (name, help, value) in counters { single(name, "counter", help, total(value)) }
    }
}
