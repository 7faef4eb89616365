import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import PosixIO
import Testing

/// `--store etcd://` wiring, with no etcd listening: the node starts anyway, serves DNS and reads,
/// and reports the store as unavailable. (The behaviour with a real etcd cluster is checked by
/// Tests/Cluster/etcd-cluster.sh.)
@Suite struct EtcdWiringTests {
    static func unreachableEndpoint() throws -> SocketAddress {
        let socket = try Sockets.tcpListener(bind: SocketAddress(parsing: "127.0.0.1:0")!)
        return try Posix.localAddress(socket.rawValue)  // nothing listens once `socket` is closed
    }

    @Test func withEtcdUnreachableTheNodeServesAndRefusesWritesWith503() throws {
        let endpoint = try Self.unreachableEndpoint()
        let beacon = try RunningBeacon {
            $0.etcdEndpoints = [endpoint]
            $0.dataDirectory = "/nonexistent/beacon-data"
        }
        let logs = beacon.logs.all.joined()
        #expect(logs.contains("/nonexistent/beacon-data is not used"), "the etcd store wins over --data")
        #expect(logs.contains("no member of \(endpoint) answered yet"))
        var client = beacon.http()
        let health = try client.json("GET", "/healthz")
        #expect(health.status == 503)
        #expect(health.value["error"]?.stringValue?.hasPrefix("etcd: ") == true, "\(health.value.jsonText)")
        let body: JSONValue = ["service": "orders", "function": "create", "address": "10.0.0.1", "port": 80]
        let register = try client.json("POST", "/v1/register", body: body)
        #expect(register.status == 503, "\(register.value.jsonText)")
        #expect(register.value["error"]?.stringValue?.contains("refused") == true)
        #expect(try client.json("POST", "/v1/instances/abc/heartbeat").status == 503)
        #expect(try client.json("DELETE", "/v1/instances/abc").status == 503)
        #expect(try client.json("GET", "/v1/services/orders/create").status == 200, "reads still answer")
        #expect(try beacon.query("create.orders.local.", .a).rcode == .nxDomain, "DNS answers from the (empty) mirror")
    }

    @Test func metricsReportTheEtcdLinkForOperators() throws {
        let endpoint = try Self.unreachableEndpoint()
        let beacon = try RunningBeacon { $0.etcdEndpoints = [endpoint] }
        var client = beacon.http()
        let response = try client.send("GET", "/metrics")
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.contains("beacon_etcd_watch_up 0\n"), "no watch while no member answers")
        #expect(text.contains("beacon_etcd_member{member=\"\(endpoint)\",role=\"watch\"} 0\n"))
        for family in [
            "beacon_etcd_resyncs_total", "beacon_etcd_cover_lookups_total", "beacon_etcd_cover_leases_granted_total",
            "beacon_etcd_keys_collected_total", "beacon_etcd_heartbeats_total{answered=\"at_once\"}",
            "beacon_etcd_heartbeats_total{answered=\"after_grant\"}", "beacon_etcd_markers_published_total",
            "beacon_etcd_markers_applied_total", "beacon_etcd_mirror_lag_seconds",
        ] {
            #expect(text.contains("\n\(family) "), "\(family) missing")
        }
    }
}
