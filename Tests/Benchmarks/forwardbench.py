#!/usr/bin/env python3
"""Forwarding overhead (issue 6): dnsperf against Knot directly and against Beacon forwarding to
the same Knot (names outside Beacon's zones), in one run, alternating. Prints qps and average
latency for both, and Beacon's CPU per forwarded query.
Usage: forwardbench.py [--beacon .build/release/beacon] [--seconds 8] [--rounds 3]
"""
import argparse, os, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsbench as d


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="beacon-forward-")
    knot_port, beacon_dns, beacon_http = d.free_port(), d.free_port(), d.free_port()
    zone = ["$ORIGIN upstream.test.", "$TTL 300", "@ SOA ns hostmaster 1 3600 600 86400 60", "@ NS ns", "ns A 127.0.0.1"]
    zone += [f"host{i} A 192.0.2.{i % 250 + 1}" for i in range(1000)]
    open(os.path.join(work, "upstream.test.zone"), "w").write("\n".join(zone) + "\n")
    open(os.path.join(work, "queries.txt"), "w").write("\n".join(f"host{i % 1000}.upstream.test A" for i in range(5000)) + "\n")
    open(os.path.join(work, "knot.conf"), "w").write(f"""server:
    listen: 127.0.0.1@{knot_port}
    udp-workers: 2
    rundir: {work}
database:
    storage: {work}/db
template:
  - id: default
    storage: {work}
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: upstream.test.
    file: upstream.test.zone
log:
  - target: stderr
    any: error
""")
    os.makedirs(os.path.join(work, "zones"))
    knot = beacon = None
    try:
        knot = subprocess.Popen(["knotd", "-c", os.path.join(work, "knot.conf")])
        beacon = subprocess.Popen([args.beacon, "serve", "--in-memory", "--dns", f"127.0.0.1:{beacon_dns}",
                                   "--http", f"127.0.0.1:{beacon_http}", "--zones", os.path.join(work, "zones"),
                                   "--upstream", f"127.0.0.1:{knot_port}", "--log-level", "warning"])
        d.wait_for_dns(beacon_dns)
        time.sleep(0.5)
        queries = os.path.join(work, "queries.txt")
        results = {"Knot directly": [], "Beacon forwarding to Knot": []}
        for round_index in range(args.rounds):
            for name, port in (("Knot directly", knot_port), ("Beacon forwarding to Knot", beacon_dns)):
                before = d.cpu_seconds(beacon.pid)
                completed, qps, _ = d.run_dnsperf(port, queries, args.seconds)
                used = d.cpu_seconds(beacon.pid) - before
                results[name].append((qps, used * 1e6 / max(completed, 1)))
                print(f"   round {round_index + 1} {name:26s} {qps:10,.0f} qps   Beacon CPU {used * 1e6 / max(completed, 1):6.2f} us/query")
        for name in results:
            print(f"   median {name:26s} {statistics.median(r[0] for r in results[name]):10,.0f} qps")
        direct = statistics.median(r[0] for r in results["Knot directly"])
        forwarded = statistics.median(r[0] for r in results["Beacon forwarding to Knot"])
        print(f"   forwarding keeps {forwarded / direct:.0%} of Knot's direct qps; Beacon spends "
              f"{statistics.median(r[1] for r in results['Beacon forwarding to Knot']):.1f} us of CPU per forwarded query")
    finally:
        d.stop(beacon)
        d.stop(knot)


if __name__ == "__main__":
    main()
