#!/usr/bin/env python3
"""Figures for the etcd store (issues 7 and 19), on a 3-member etcd cluster on loopback.

1. Propagation: N registrations through node 1, one at a time; after each 200, node 2's DNS is
   polled without pause for the new instance's name (ID.create.orders.local A) until it answers.
   Prints the median, p90, p99 and worst time from the 200 to the first answer.
2. Renewal checks: M instances with TTL T heartbeated every T/3 through node 1 only (wrk, paced);
   counts the `LeaseTimeToLive` reads etcd served (its /metrics) while node 2 follows the renewals:
   reads per instance per TTL per node that does not take the heartbeats; node 2's CPU; instances
   ever missing from node 2's listing.
3. Heartbeats: wrk -t2 -c32 cycling heartbeats over H instances (TTL 30) against a node backed by
   etcd and a node with the embedded store, alternating, same run: heartbeats/s, p99, etcd leader
   CPU per heartbeat, etcd writes (cover grants and markers) per heartbeat.
4. DNS throughput: the same data set (dnsbench.py's) loaded into a node backed by etcd and into a
   node with the embedded store; dnsperf against each in turn for a few rounds. Prints qps and
   server CPU microseconds per answered query.

With --soak (by hand, not in CI; minutes): three nodes, N instances (default 100,000) with TTL 30,
each heartbeated every 10 s through one node (wrk per node, paced), for --soak-seconds; every node's
live instances are counted every second, and every instance ever missing from a node is reported.

Every process is stopped by PID; etcd data directories are removed at the end (logs are kept).
Usage:
  etcdfigures.py [--registrations 1000] [--renewals 5000] [--heartbeat-instances 200] [--heartbeat-rounds 3]
                 [--rounds 3 (DNS)]
  etcdfigures.py --soak [--soak-instances 100000] [--soak-seconds 180]
"""
import argparse, base64, os, shutil, signal, statistics, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "Benchmarks"))
from clusterlib import BeaconNode, EtcdCluster, Processes, dns_query, http, wait_until  # noqa: E402
import dnsbench  # noqa: E402
import heartbeatload as load  # noqa: E402

ROOT = os.path.abspath(os.path.join(here, "..", ".."))


def propagation(n1, n2, count):
    samples = []
    misses = 0
    for index in range(count):
        ident = f"p{index}"
        status, reply = n1.register(service="orders", function="create", id=ident, address=f"10.1.{index // 250}.{index % 250 + 1}", port=8080, ttl=600)
        acked = time.perf_counter()
        if status != 200:
            raise SystemExit(f"register {ident}: {status} {reply}")
        name = f"{ident}.create.orders.local"
        while True:
            rcode, records = dns_query(n2.dns, name)
            if records:
                samples.append(time.perf_counter() - acked)
                break
            if time.perf_counter() - acked > 5:
                misses += 1
                break
    samples.sort()
    ms = [s * 1000 for s in samples]
    print(f"propagation, {count} registrations through node 1 -> DNS answer on node 2 (ms):")
    print(f"  median {statistics.median(ms):.2f}  p90 {ms[int(len(ms) * 0.9)]:.2f}  p99 {ms[int(len(ms) * 0.99)]:.2f}  worst {ms[-1]:.2f}  (not seen within 5 s: {misses})")


# What a node writes to etcd besides registrations: cover leases granted and markers put.
WRITES = ("beacon_etcd_cover_leases_granted_total", "beacon_etcd_markers_published_total")
COVER_READS = 'beacon_etcd_cover_lookups_total'
AT_ONCE = 'beacon_etcd_heartbeats_total{answered="at_once"}'
AFTER_GRANT = 'beacon_etcd_heartbeats_total{answered="after_grant"}'


def clients(etcd):
    return [client for _, client, _ in etcd.members]


def bodies(prefix, service, function, count, ttl, functions=1):
    return [
        {"service": service, "function": f"{function}{i % functions}" if functions > 1 else function, "id": f"{prefix}{i}",
         "address": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", "port": 80, "ttl": ttl}
        for i in range(count)
    ]


def renewal_checks(args, etcd, n1, n2, workdir):
    count, ttl = args.renewals, args.renewal_ttl
    everything = bodies("r", "renew", "check", count, ttl)
    loads, (registered, failed, took) = load.register_then_heartbeat(workdir, "renewals", [n1], [everything], ttl / 3)
    try:
        measure_renewals(args, etcd, n1, n2, count, ttl, registered, failed, took)
    finally:
        load.stop_all(loads)
    # Their keys have no lease: the nodes delete them once they have ended (and the next figure
    # should not measure that).
    stopped = time.time()
    left = wait_until(lambda: instance_keys(etcd, "r") == 0, 120, 1)
    print(f"  heartbeats stopped: the {count} keys were deleted from etcd after "
          + (f"{time.time() - stopped:.0f} s (TTL {ttl} s, then a grace of {max(10, ttl)}-{max(10, ttl) + 5} s)" if left is not None
             else f"more than 120 s: {instance_keys(etcd, 'r')} left"))


def instance_keys(etcd, prefix):
    """How many instance keys whose id starts with `prefix` etcd holds."""
    start = f"/beacon/v1/instances/{prefix}".encode()
    end = start[:-1] + bytes([start[-1] + 1])
    status, reply = http("POST", f"http://127.0.0.1:{clients(etcd)[0]}/v3/kv/range",
                         {"key": base64.b64encode(start).decode(), "range_end": base64.b64encode(end).decode(), "count_only": True})
    return int(reply.get("count", 0)) if status == 200 else -1


def measure_renewals(args, etcd, n1, n2, count, ttl, registered, failed, took):
    print(f"renewal checks: registered {registered} instances (TTL {ttl} s) through node 1 in {took:.1f} s "
          f"({registered / took:,.0f}/s, {failed} failed)")
    time.sleep(ttl / 3 + 1)  # a whole round of heartbeats after the last registration
    node2 = n2.procs.procs[n2.name].pid
    seconds = args.renewal_seconds
    before_reads, before_cpu = load.etcd_counter(clients(etcd), "LeaseTimeToLive"), load.cpu_seconds(node2)
    before_m1, before_m2 = load.metrics(n1.http_port), load.metrics(n2.http_port)
    started, missing, samples = time.time(), 0, 0
    while time.time() - started < seconds:
        status, reply = http("GET", n2.url("/v1/services/renew/check"))
        live = len(reply.get("instances", [])) if status == 200 else 0
        missing, samples = max(missing, count - live), samples + 1
        time.sleep(1)
    elapsed = time.time() - started
    reads = load.etcd_counter(clients(etcd), "LeaseTimeToLive") - before_reads
    cpu = load.cpu_seconds(node2) - before_cpu
    m1, m2 = load.metrics(n1.http_port), load.metrics(n2.http_port)
    beats = (m1.get(AT_ONCE, 0) + m1.get(AFTER_GRANT, 0)) - (before_m1.get(AT_ONCE, 0) + before_m1.get(AFTER_GRANT, 0))
    refused = sum(m1[k] - before_m1.get(k, 0) for k in m1 if k.startswith("beacon_http_requests_total") and 'status="200"' not in k)
    delta = lambda name: m2.get(name, 0) - before_m2.get(name, 0)  # noqa: E731
    print(f"renewal checks, {count} instances, TTL {ttl} s, heartbeats every {ttl / 3:.0f} s through node 1 "
          f"({beats / elapsed:,.0f}/s, non-200 {refused:.0f}), {elapsed:.0f} s, load average {load.load_average()}:")
    print(f"  etcd LeaseTimeToLive reads {reads / elapsed:.1f}/s = {reads / elapsed * ttl / count:.3f} per instance per TTL "
          f"per node not taking the heartbeats (node 2: markers applied {delta('beacon_etcd_markers_applied_total'):.0f}, "
          f"cover reads {delta(COVER_READS):.0f}); node 2 CPU {cpu / elapsed * 100:.1f}% of a core; "
          f"most instances missing from node 2's listing in {samples} samples: {missing}")


def heartbeat_throughput(args, procs, workdir, etcd, binary):
    """Issue 19's figure: wrk -t2 -c32 cycling heartbeats over a few hundred instances, etcd-backed
    node against an embedded one, rounds alternating."""
    count = args.heartbeat_instances
    nodes = {}
    for name, use_etcd in (("etcd", True), ("embedded", False)):
        node = BeaconNode(procs, f"hb-{name}", binary, etcd.client_endpoints, os.path.join(ROOT, "zones"), ["--log-level", "warning"])
        if not use_etcd:
            at = node.argv.index("--store")
            del node.argv[at : at + 2]
        node.start()
        node.wait_up()
        registered, failed, _ = load.register_all(node.http_port, bodies("hb", "bench", "hb", count, 30))
        if failed:
            raise SystemExit(f"{name} node: {failed} registrations failed")
        nodes[name] = node
    ids = [f"hb{i}" for i in range(count)]
    script = load.write_script(workdir, "cycling", ids)
    results = {name: [] for name in nodes}
    leader = etcd.leader()
    leader_pid = procs.procs[leader].pid if leader else None
    etcd_pids = [procs.procs[name].pid for name, _, _ in etcd.members if procs.running(name)]
    print(f"heartbeats, wrk -t2 -c32 cycling over {count} instances (TTL 30), {args.heartbeat_seconds} s per round, "
          f"etcd leader {leader}, load average {load.load_average()}:")
    for round_index in range(args.heartbeat_rounds):
        order = list(nodes.items()) if round_index % 2 == 0 else list(reversed(nodes.items()))
        for name, node in order:
            pid = procs.procs[node.name].pid
            before = (load.cpu_seconds(pid), load.cpu_seconds(leader_pid) if leader_pid else 0,
                      sum(map(load.cpu_seconds, etcd_pids)), load.metrics(node.http_port))
            result = load.run_wrk(node.http_port, script, args.heartbeat_seconds)
            after = load.metrics(node.http_port)
            beats = max(1, result["requests"])
            result["node_us"] = (load.cpu_seconds(pid) - before[0]) * 1e6 / beats
            result["leader_us"] = ((load.cpu_seconds(leader_pid) - before[1]) * 1e6 / beats) if leader_pid else 0
            result["etcd_us"] = (sum(map(load.cpu_seconds, etcd_pids)) - before[2]) * 1e6 / beats
            writes = sum(after.get(k, 0) - before[3].get(k, 0) for k in WRITES)
            result["writes_per_beat"] = writes / beats
            results[name].append(result)
            extra = (f"  etcd leader {result['leader_us']:6.1f} us/heartbeat, all members {result['etcd_us']:6.1f}, "
                     f"etcd writes per heartbeat {result['writes_per_beat']:.5f}") if name == "etcd" else ""
            print(f"  round {round_index + 1} {name:8s} {result['rps']:9,.0f} heartbeats/s  p99 {result['p99_us']:7.0f} us  "
                  f"non-2xx {result['non2xx']}  node {result['node_us']:5.1f} us/heartbeat{extra}")
    median = {name: statistics.median(r["rps"] for r in rounds) for name, rounds in results.items()}
    leader_us = statistics.median(r["leader_us"] for r in results["etcd"])
    print(f"  median: etcd-backed {median['etcd']:,.0f}/s, embedded {median['embedded']:,.0f}/s, ratio "
          f"{median['etcd'] / median['embedded']:.2f}; etcd leader CPU {leader_us:.1f} us per heartbeat; load average {load.load_average()}")
    for node in nodes.values():
        procs.signal(node.name, signal.SIGTERM)


def throughput(args, procs, workdir, endpoints, binary):
    data = dnsbench.Dataset(args.functions)
    query_file = os.path.join(workdir, "queries.txt")
    with open(query_file, "w") as f:
        f.write("\n".join(data.queries) + "\n")
    zones = os.path.join(workdir, "zones")
    os.makedirs(zones, exist_ok=True)
    with open(os.path.join(zones, "local.zone"), "w") as f:
        f.write(data.static_zone())
    etcd_node = BeaconNode(procs, "bench-etcd", binary, endpoints, zones, ["--log-level", "warning"])
    embedded = BeaconNode(procs, "bench-embedded", binary, endpoints, zones, ["--log-level", "warning"])
    store_at = embedded.argv.index("--store")
    del embedded.argv[store_at : store_at + 2]  # the embedded store: same flags without --store
    servers = []
    for name, node in (("etcd", etcd_node), ("embedded", embedded)):
        node.start()
        node.wait_up()
        registered, seconds = dnsbench.load_beacon(node.http_port, data)
        print(f"{name:8s} node: loaded {registered} instances in {seconds:.1f} s ({registered / seconds:,.0f}/s)")
        servers.append((name, procs.procs[node.name], node.dns))
    for _, _, port in servers:
        dnsbench.run_dnsperf(port, query_file, 2)
    results = {name: {"qps": [], "cpu": []} for name, _, _ in servers}
    for round_index in range(args.rounds):
        order = servers if round_index % 2 == 0 else list(reversed(servers))
        for name, process, port in order:
            before = dnsbench.cpu_seconds(process.pid)
            completed, qps, _ = dnsbench.run_dnsperf(port, query_file, args.seconds)
            used = dnsbench.cpu_seconds(process.pid) - before
            results[name]["qps"].append(qps)
            results[name]["cpu"].append(used * 1e6 / max(completed, 1))
            print(f"  round {round_index + 1} {name:8s} {qps:10,.0f} qps  {used * 1e6 / max(completed, 1):5.2f} us CPU/query")
    for name in results:
        print(f"{name:8s} median {statistics.median(results[name]['qps']):10,.0f} qps, "
              f"{statistics.median(results[name]['cpu']):.2f} us CPU/query")


class Monitor:
    """Prints, every `every` seconds, each node's heartbeats, non-200 answers and ended leases, and
    etcd's CPU: enough to see when a run goes wrong, and why."""

    def __init__(self, procs, nodes, etcd, every=20):
        self.procs, self.nodes, self.etcd, self.every = procs, nodes, etcd, every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        members = [(name, self.procs.procs[name].pid) for name, _, _ in self.etcd.members]
        last = ([load.metrics(n.http_port) for n in self.nodes], {name: load.cpu_seconds(pid) for name, pid in members}, time.time())
        while not self.stopping.wait(self.every):
            now = ([load.metrics(n.http_port) for n in self.nodes], {name: load.cpu_seconds(pid) for name, pid in members}, time.time())
            elapsed = now[2] - last[2]
            parts = []
            for node, before, after in zip(self.nodes, last[0], now[0]):
                d = lambda k: (after.get(k, 0) - before.get(k, 0)) / elapsed  # noqa: E731
                refused = sum(after[k] - before.get(k, 0) for k in after if k.startswith("beacon_http_requests_total") and 'status="2' not in k and "register" not in k) / elapsed
                parts.append(f"{node.name} {after.get('beacon_instances', 0):.0f} live, {d(AT_ONCE) + d(AFTER_GRANT):.0f} hb/s "
                             f"({d(AFTER_GRANT):.0f} waited), non-2xx {refused:.0f}/s, ended {d('beacon_expirations_total'):.0f}/s")
            cpu = ", ".join(f"{name} {(now[1][name] - last[1][name]) / elapsed * 100:.0f}%" for name, _ in members)
            print(f"  [{time.strftime('%H:%M:%S')}] " + "; ".join(parts) + f"; etcd CPU {cpu}; load {load.load_average()}", flush=True)
            last = now

    def stop(self):
        self.stopping.set()
        self.thread.join()


class Census:
    """Counts every node's live instances (GET /v1/services, what DNS answers from) once a second,
    and names each instance ever missing from a node's answers."""

    def __init__(self, nodes, expected):
        self.nodes, self.expected = nodes, expected
        self.samples = {node.name: 0 for node in nodes}
        self.short_samples = {node.name: 0 for node in nodes}
        self.most_missing = {node.name: 0 for node in nodes}
        self.ever_missing = {node.name: set() for node in nodes}
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            started = time.time()
            for node in self.nodes:
                status, reply = http("GET", node.url("/v1/services"), timeout=10)
                if status != 200:
                    continue
                live = {(s["service"], f["function"]): f["instances"] for s in reply["services"] for f in s["functions"]}
                short = [key for key, want in self.expected.items() if live.get(key, 0) < want]
                self.samples[node.name] += 1
                if short:
                    self.short_samples[node.name] += 1
                    self.most_missing[node.name] = max(
                        self.most_missing[node.name], sum(self.expected[k] - live.get(k, 0) for k in short))
                    for service, function in short:
                        status, listing = http("GET", node.url(f"/v1/services/{service}/{function}"), timeout=10)
                        present = {i["id"] for i in listing.get("instances", [])} if status == 200 else set()
                        self.ever_missing[node.name] |= {i for i in self.ids[(service, function)] if i not in present}
            time.sleep(max(0, 1 - (time.time() - started)))

    def stop(self):
        self.running = False
        self.thread.join()


def soak(args, procs, workdir, etcd, binary):
    count, ttl, interval = args.soak_instances, 30, 10
    functions = max(1, count // 100)
    nodes = [BeaconNode(procs, f"soak{i + 1}", binary, etcd.client_endpoints, os.path.join(ROOT, "zones"), ["--log-level", os.environ.get("SOAK_LOG_LEVEL", "warning")]) for i in range(3)]
    for node in nodes:
        node.start()
    if not all(node.wait_up() for node in nodes) or wait_until(lambda: all(n.health() == 200 for n in nodes), 15) is None:
        raise SystemExit("soak: the nodes did not come up")
    everything = bodies("s", "soak", "f", count, ttl, functions)
    print(f"soak: {count:,} instances in {functions} functions, TTL {ttl} s, each heartbeated every {interval} s through "
          f"one of 3 nodes, {len(etcd.members)} etcd member(s); load average {load.load_average()}")
    # A third through each node, heartbeated through it from the moment each batch is registered.
    monitor = Monitor(procs, nodes, etcd)
    loads = []
    try:
        loads, (registered, failed, took) = load.register_then_heartbeat(
            workdir, "soak", nodes, [everything[i::3] for i in range(3)], interval, connections=args.soak_connections)
        soak_measure(args, procs, etcd, nodes, everything, ttl, interval, loads, registered, failed, took)
    finally:
        monitor.stop()
        load.stop_all(loads)


def soak_measure(args, procs, etcd, nodes, everything, ttl, interval, loads, registered, failed, took):
    count = len(everything)
    print(f"  registered {registered:,} ({failed} failed) in {took:.0f} s ({registered / took:,.0f}/s); "
          f"load average {load.load_average()}")
    time.sleep(interval + 2)  # one whole heartbeat round after the last registration
    expected, ids = {}, {}
    for body in everything:
        key = (body["service"], body["function"])
        expected[key] = expected.get(key, 0) + 1
        ids.setdefault(key, []).append(body["id"])
    settled = [load.metrics(node.http_port) for node in nodes]
    print("  leases ended during the load phase (instances dropped while registering): "
          + ", ".join(f"{node.name} {m.get('beacon_expirations_total', 0):.0f}" for node, m in zip(nodes, settled)))
    pids = {name: procs.procs[name].pid for name in [n.name for n in nodes] + [m for m, _, _ in etcd.members]}
    before_cpu = {name: load.cpu_seconds(pid) for name, pid in pids.items()}
    before = [load.metrics(node.http_port) for node in nodes]
    before_reads = load.etcd_counter(clients(etcd), "LeaseTimeToLive")
    Census.ids = ids
    census = Census(nodes, expected)
    measured = time.time()
    while time.time() - measured < args.soak_seconds:
        time.sleep(5)
        if any(process.poll() is not None for process in loads):
            print("  a load generator stopped early")
            break
    census.stop()
    elapsed = time.time() - measured
    after = [load.metrics(node.http_port) for node in nodes]
    reads = load.etcd_counter(clients(etcd), "LeaseTimeToLive") - before_reads
    print(f"  measured {elapsed:.0f} s; load average {load.load_average()}")
    total_beats = 0
    for index, node in enumerate(nodes):
        delta = lambda name: after[index].get(name, 0) - before[index].get(name, 0)  # noqa: E731
        beats = delta(AT_ONCE) + delta(AFTER_GRANT)
        total_beats += beats
        failed = sum(delta(k) for k in after[index] if k.startswith("beacon_http_requests_total") and 'status="200"' not in k)
        print(f"  {node.name}: {beats / elapsed:,.0f} heartbeats/s ({delta(AT_ONCE) / max(1, beats) * 100:.0f}% at once), "
              f"non-200 answers {failed:.0f}, etcd writes {sum(delta(k) for k in WRITES) / elapsed:.1f}/s, "
              f"markers applied {delta('beacon_etcd_markers_applied_total') / elapsed:.1f}/s, cover reads "
              f"{delta(COVER_READS) / elapsed:.1f}/s, CPU {(load.cpu_seconds(pids[node.name]) - before_cpu[node.name]) / elapsed * 100:.0f}% of a core; "
              f"leases ended {delta('beacon_expirations_total'):.0f}, "
              f"census: {census.samples[node.name]} samples, {census.short_samples[node.name]} short, "
              f"instances ever missing {len(census.ever_missing[node.name])}")
    etcd_cpu = sum(load.cpu_seconds(pids[m]) - before_cpu[m] for m, _, _ in etcd.members)
    print(f"  etcd: {etcd_cpu / elapsed * 100:.0f}% of a core for the three members, LeaseTimeToLive reads {reads / elapsed:.1f}/s "
          f"= {reads / elapsed * ttl / count / 3:.4f} per instance per TTL per node, "
          f"{etcd_cpu * 1e6 / max(1, total_beats):.1f} us of etcd CPU per heartbeat")
    missing = set().union(*census.ever_missing.values())
    print(f"  instances ever missing from any node's answers while heartbeated: {len(missing)}"
          + (f" (e.g. {sorted(missing)[:10]})" if missing else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beacon", default=os.environ.get("BEACON_BIN", os.path.join(ROOT, ".build/release/beacon")))
    parser.add_argument("--registrations", type=int, default=1000)
    parser.add_argument("--renewals", type=int, default=5000, help="instances for the renewal-check figure")
    parser.add_argument("--renewal-ttl", type=int, default=15)
    parser.add_argument("--renewal-seconds", type=int, default=45)
    parser.add_argument("--heartbeat-instances", type=int, default=200)
    parser.add_argument("--heartbeat-seconds", type=int, default=8)
    parser.add_argument("--heartbeat-rounds", type=int, default=3)
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--soak", action="store_true", help="run the 3-node soak only")
    parser.add_argument("--soak-instances", type=int, default=100_000)
    parser.add_argument("--soak-seconds", type=int, default=180)
    parser.add_argument("--etcd-members", type=int, default=3)
    parser.add_argument("--soak-connections", type=int, default=8, help="registrations in flight per node")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    workdir = tempfile.mkdtemp(prefix="beacon-etcd-figures-")
    procs = Processes(workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    etcd = None
    try:
        etcd = EtcdCluster(procs, workdir, size=args.etcd_members)
        etcd.start()
        if not etcd.wait_healthy():
            raise SystemExit("etcd did not start")
        if args.soak:
            soak(args, procs, workdir, etcd, args.beacon)
            return
        nodes = [BeaconNode(procs, f"beacon{i + 1}", args.beacon, etcd.client_endpoints, os.path.join(ROOT, "zones"), ["--log-level", "warning"]) for i in range(2)]
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_up()
        wait_until(lambda: all(node.health() == 200 for node in nodes), 10)
        if args.registrations:
            propagation(nodes[0], nodes[1], args.registrations)
        if args.renewals:
            renewal_checks(args, etcd, nodes[0], nodes[1], workdir)
        if args.heartbeat_instances and args.heartbeat_rounds:
            heartbeat_throughput(args, procs, workdir, etcd, args.beacon)
        if args.rounds:
            throughput(args, procs, workdir, etcd.client_endpoints, args.beacon)
    finally:
        procs.stop_all()
        for name, _, _ in (etcd.members if etcd else []):
            shutil.rmtree(os.path.join(workdir, name), ignore_errors=True)
    print(f"logs in {workdir}")


if __name__ == "__main__":
    main()
