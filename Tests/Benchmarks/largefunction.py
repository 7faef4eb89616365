#!/usr/bin/env python3
"""What a large function costs per query (issue 14 item 5): Beacon's CPU time per answered SRV
query for a 3,000-instance function against a 3-instance one, in the same run (dnsperf, alternating
rounds, utime+stime from /proc/PID/stat around each run). The goal: no more than 3x.

UDP with EDNS 1232 (as resolvers ask): the large answer cannot fit, so it is a TC reply. Over TCP
(--tcp) the large answer is 64 KiB of records, and the figure says what that costs; dnsperf 2.10
gives up on TCP answers past about 16 KB, so a Python client keeps 16 queries in flight on one
connection instead (its own speed does not matter: the figure is the server's CPU per answer).

Every process it starts is stopped by PID. Usage:
  largefunction.py --beacon .build/release/beacon [--rounds 3] [--seconds 5] [--tcp] [--instances 3000]
"""
import argparse, os, shutil, socket, statistics, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Load"))
from dns_hostile import SRV, Beacon, query  # noqa: E402


def run_tcp(port, query_file, seconds, window=16):
    """Pipelined SRV queries for the one name in `query_file` over one TCP connection."""
    name = open(query_file).read().split()[0]
    frame = query(name, SRV, 1, edns=1232)
    frame = struct.pack(">H", len(frame)) + frame
    completed = 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(frame * window)
        pending, data = window, b""
        started = time.time()
        while time.time() - started < seconds:
            data += s.recv(1 << 20)
            while len(data) >= 2 and len(data) >= 2 + struct.unpack(">H", data[:2])[0]:
                data = data[2 + struct.unpack(">H", data[:2])[0]:]
                completed += 1
                s.sendall(frame)
        elapsed = time.time() - started
    return completed, completed / elapsed


def run_dnsperf(port, query_file, seconds, tcp):
    if tcp:
        return run_tcp(port, query_file, seconds)
    command = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", query_file, "-l", str(seconds), "-e", "-q", "200"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    completed = qps = 0.0
    for line in out.splitlines():
        if line.strip().startswith("Queries completed:"):
            completed = float(line.split()[2])
        elif line.strip().startswith("Queries per second:"):
            qps = float(line.split()[3])
    return completed, qps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--instances", type=int, default=3000)
    parser.add_argument("--tcp", action="store_true", help="query over TCP instead of UDP")
    args = parser.parse_args()
    if not shutil.which("dnsperf"):
        raise SystemExit("dnsperf is not installed (apt-get install -y dnsperf)")
    print(f"load average {os.getloadavg()[0]:.2f} at start; {args.beacon}; {'TCP' if args.tcp else 'UDP, EDNS 1232'}")
    with tempfile.TemporaryDirectory(prefix="beacon-large-") as workdir, Beacon(args.beacon) as beacon:
        registered = beacon.register("big", args.instances), beacon.register("small", 3)
        print(f"registered {registered[0]:,} + {registered[1]} instances")
        files = {}
        for name in ("big", "small"):
            files[name] = os.path.join(workdir, name)
            with open(files[name], "w") as f:
                f.write(f"{name}.load.local SRV\n")
        for name in files:
            run_dnsperf(beacon.dns, files[name], 1, args.tcp)  # warm up
        cost = {"big": [], "small": []}
        for round_index in range(args.rounds):
            order = ["big", "small"] if round_index % 2 == 0 else ["small", "big"]
            for name in order:
                before = beacon.cpu_seconds()
                completed, qps = run_dnsperf(beacon.dns, files[name], args.seconds, args.tcp)
                used = beacon.cpu_seconds() - before
                cost[name].append(used * 1e6 / max(completed, 1))
                print(f"  round {round_index + 1} {name:5s} {qps:10,.0f} qps {cost[name][-1]:8.2f} us CPU/query")
        big, small = statistics.median(cost["big"]), statistics.median(cost["small"])
        print(f"median CPU per query: {args.instances:,} instances {big:.2f} us, 3 instances {small:.2f} us: "
              f"ratio {big / small:.2f}x (goal <= 3x); load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
