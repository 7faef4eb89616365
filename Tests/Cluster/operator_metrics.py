#!/usr/bin/env python3
"""`/metrics` after what an operator lives through (issue 17): a journal-backed node through a
reload and journal compactions, and an etcd-backed node through a reload, an etcd compaction and
the restart of an etcd member. Prints the families that tell each story and checks they moved.

Prints `ok`/`not ok` lines and the metrics; exits non-zero when a check failed. Needs `etcd` on
PATH and a release build ($BEACON_BIN, default .build/release/beacon); every process it starts is
stopped by PID. Run by .ci/run.
"""
import os, shutil, signal, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterlib import BeaconNode, EtcdCluster, Processes, Report, free_port, http, wait_until  # noqa: E402
from heartbeatload import metrics  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
report = Report()
check = report.check


def show(scrape, prefixes):
    for series, value in scrape.items():
        if series.startswith(prefixes) and not series.endswith("_bucket") and "_bucket{" not in series:
            print(f"    {series} {value:g}")


def register(port, service, count):
    ok = 0
    for index in range(count):
        body = {"service": service, "function": "create", "id": f"{service}-{index}", "address": f"10.0.{index // 250}.{index % 250 + 1}",
                "port": 8080, "ttl": 60, "meta": {"note": "x" * 64}}
        ok += http("POST", f"http://127.0.0.1:{port}/v1/register", body)[0] == 200
    return ok


def journal_node(procs, workdir, binary):
    zones = os.path.join(workdir, "zones")
    shutil.copytree(os.path.join(ROOT, "zones"), zones)
    http_port = free_port()
    procs.start("journal-node", [binary, "serve", "--data", os.path.join(workdir, "data"), "--zones", zones,
                                 "--journal-compact-bytes", "8192", "--dns", f"127.0.0.1:{free_port()}",
                                 "--http", f"127.0.0.1:{http_port}", "--log-level", "warning"])
    check(wait_until(lambda: http("GET", f"http://127.0.0.1:{http_port}/healthz", timeout=2)[0] == 200, 15) is not None,
          "the journal-backed node is up")
    check(register(http_port, "orders", 300) == 300, "300 registrations answered 200")
    with open(os.path.join(zones, "extra.zone"), "w") as f:
        f.write("$ORIGIN extra.test.\n$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 5\n@ NS ns\nns A 192.0.2.53\n")
    os.kill(procs.procs["journal-node"].pid, signal.SIGHUP)  # Processes.signal waits for an exit
    wait_until(lambda: metrics(http_port).get("beacon_reloads_total", 0) >= 1, 10)
    scrape = metrics(http_port)
    print("# journal-backed node after 300 registrations, journal compactions and a SIGHUP reload:")
    show(scrape, ("beacon_build_info", "beacon_reload", "beacon_journal", "beacon_instances", "beacon_registrations_total",
                  "beacon_process"))
    check(scrape.get("beacon_reloads_total", 0) >= 1 and scrape.get("beacon_reload_failures_total", 1) == 0,
          "the reload counts, and no failure")
    check(scrape.get("beacon_journal_compactions_total", 0) >= 1, "the journal was compacted")
    check(scrape.get("beacon_journal_fsync_seconds_count", 0) >= 300, "every registration's fsync is in the histogram")
    check(scrape.get("beacon_journal_writable") == 1, "the journal is writable")


def etcd_node(procs, workdir, binary):
    etcd = EtcdCluster(procs, workdir, size=3)
    etcd.start()
    check(etcd.wait_healthy(), "three etcd members are healthy")
    node = BeaconNode(procs, "etcd-node", binary, etcd.client_endpoints, os.path.join(ROOT, "zones"),
                      ["--log-level", "warning"])
    node.start()
    check(node.wait_up() and wait_until(lambda: node.health() == 200, 15) is not None, "the etcd-backed node is up")
    check(register(node.http_port, "pay", 50) == 50, "50 registrations through etcd answered 200")
    os.kill(procs.procs["etcd-node"].pid, signal.SIGHUP)
    # etcd's own compaction: everything before the current revision is gone from its history.
    _, status = http("POST", f"http://{etcd.client_endpoints[0]}/v3/maintenance/status", {})
    revision = int(status["header"]["revision"])
    check(http("POST", f"http://{etcd.client_endpoints[0]}/v3/kv/compaction", {"revision": revision, "physical": True})[0] == 200,
          f"etcd compacted at revision {revision}")
    for index in range(50):
        http("POST", f"http://127.0.0.1:{node.http_port}/v1/instances/pay-{index}/heartbeat")
    # Restart the member the node's watch follows, so the watch is lost and taken up elsewhere.
    watched = [series for series, value in metrics(node.http_port).items()
               if series.startswith("beacon_etcd_member{") and 'role="watch"' in series and value == 1]
    port = int(watched[0].split('member="127.0.0.1:')[1].split('"')[0]) if watched else None
    member = next((name for name, client, _ in etcd.members if client == port), "e1")
    resyncs_before = metrics(node.http_port).get("beacon_etcd_resyncs_total", 0)
    procs.signal(member, signal.SIGTERM)
    time.sleep(3)
    etcd.start([member])
    check(etcd.wait_healthy(), f"etcd member {member} restarted and the cluster is healthy again")
    check(register(node.http_port, "pay-after", 10) == 10, "registrations after the restart answered 200")
    wait_until(lambda: metrics(node.http_port).get("beacon_etcd_watch_up") == 1, 15)
    scrape = metrics(node.http_port)
    print(f"# etcd-backed node after a SIGHUP reload, an etcd compaction and the restart of member {member}:")
    show(scrape, ("beacon_reload", "beacon_etcd", "beacon_instances", "beacon_registrations_total", "beacon_heartbeats_total"))
    check(scrape.get("beacon_etcd_watch_up") == 1, "the mirror follows its watch again")
    check(scrape.get("beacon_etcd_resyncs_total", 0) > resyncs_before,
          f"losing the watched member counts a resync ({resyncs_before:g} -> {scrape.get('beacon_etcd_resyncs_total', 0):g})")
    check(scrape.get('beacon_etcd_heartbeats_total{answered="at_once"}', 0)
          + scrape.get('beacon_etcd_heartbeats_total{answered="after_grant"}', 0) == 50, "50 heartbeats counted")
    check(scrape.get("beacon_reloads_total", 0) >= 1, "the reload counts")
    check(scrape.get("beacon_instances") == 60, f"the node serves all 60 instances ({scrape.get('beacon_instances')})")


def main():
    binary = os.environ.get("BEACON_BIN", os.path.join(ROOT, ".build/release/beacon"))
    workdir = tempfile.mkdtemp(prefix="beacon-operator-metrics-")
    procs = Processes(workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        journal_node(procs, workdir, binary)
        etcd_node(procs, workdir, binary)
    finally:
        procs.stop_all()
    print(f"# {report.count - report.failed}/{report.count} passed; logs in {workdir}")
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
