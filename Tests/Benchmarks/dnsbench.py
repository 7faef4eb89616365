#!/usr/bin/env python3
"""Beacon vs Knot DNS, side by side in one run (issue 8).

Generates N functions across services, 3 instances each; loads them into Beacon through the HTTP
API (plus a static part in a zone file) and the same names as a zone into Knot; then runs dnsperf
against each in turn, alternating, for several rounds, with a fixed query mix (SRV and A for
functions, A for instances, static names, 5% names that do not exist). Prints per server the median
qps, p99 latency at a fixed offered load, the server CPU microseconds per answered query
(utime+stime from /proc/PID/stat around each run), and the ratios Beacon/Knot.

Every process it starts is stopped by PID. Usage:
  dnsbench.py --beacon .build/release/beacon --functions 1000 100000 --rounds 3 --seconds 10
"""
import argparse, os, random, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import cpu_seconds, free_port, rss_kib  # noqa: E402

STATIC_NAMES = 100


class Dataset:
    def __init__(self, functions, seed=7):
        self.functions = []
        services = max(1, functions // 10)
        for index in range(functions):
            service, function = f"svc{index % services}", f"fn{index}"
            instances = []
            for k in range(3):
                serial = index * 3 + k
                address = f"10.{(serial >> 16) & 255}.{(serial >> 8) & 255}.{serial & 255}"
                instances.append((f"i{index}x{k}", address, 8000 + k))
            self.functions.append((service, function, instances))
        rng = random.Random(seed)
        self.queries = []
        for _ in range(200_000 if functions >= 10_000 else 50_000):
            roll = rng.random()
            service, function, instances = self.functions[rng.randrange(functions)]
            if roll < 0.30:
                self.queries.append(f"{function}.{service}.local SRV")
            elif roll < 0.60:
                self.queries.append(f"{function}.{service}.local A")
            elif roll < 0.90:
                self.queries.append(f"{instances[rng.randrange(3)][0]}.{function}.{service}.local A")
            elif roll < 0.95:
                self.queries.append(f"static{rng.randrange(STATIC_NAMES)}.local A")
            else:
                self.queries.append(f"missing{rng.randrange(1_000_000)}.{service}.local A")

    def static_zone(self):
        lines = ["$ORIGIN local.", "$TTL 60", "@ SOA ns hostmaster 1 3600 600 86400 5", "@ NS ns", "ns A 127.0.0.1"]
        lines += [f"static{k} A 192.0.2.{k % 250 + 1}" for k in range(STATIC_NAMES)]
        return "\n".join(lines) + "\n"

    def knot_zone(self):
        lines = [self.static_zone()]
        for service, function, instances in self.functions:
            owner = f"{function}.{service}"
            for ident, address, port in instances:
                lines.append(f"{owner} 30 A {address}")
                lines.append(f"{owner} 30 SRV 0 1 {port} {ident}.{owner}.local.")
                lines.append(f"{ident}.{owner} 30 A {address}")
        return "\n".join(lines) + "\n"


def load_beacon(http_port, dataset, connections=4):
    """Registers every instance with pipelined keep-alive requests on a few connections."""
    bodies = []
    for service, function, instances in dataset.functions:
        for ident, address, port in instances:
            bodies.append(
                f'{{"service":"{service}","function":"{function}","id":"{ident}","address":"{address}",'
                f'"port":{port},"ttl":86400}}')
    def request(body):
        return (f"POST /v1/register HTTP/1.1\r\nHost: b\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
    started = time.time()
    chunks = [bodies[i::connections] for i in range(connections)]
    sockets = [socket.create_connection(("127.0.0.1", http_port)) for _ in chunks]
    positions = [0] * len(chunks)
    pending = [0] * len(chunks)
    buffers = [b""] * len(chunks)
    ok = 0
    while any(positions[i] < len(chunks[i]) or pending[i] for i in range(len(chunks))):
        for i, sock in enumerate(sockets):
            if positions[i] < len(chunks[i]) and pending[i] < 256:
                batch = chunks[i][positions[i]:positions[i] + 256 - pending[i]]
                sock.sendall(b"".join(request(b) for b in batch))
                positions[i] += len(batch)
                pending[i] += len(batch)
            if pending[i]:
                buffers[i] += sock.recv(1 << 20)
                while True:
                    head_end = buffers[i].find(b"\r\n\r\n")
                    if head_end < 0:
                        break
                    head = buffers[i][:head_end].decode()
                    length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                    if len(buffers[i]) < head_end + 4 + length:
                        break
                    if not head.startswith("HTTP/1.1 200"):
                        raise SystemExit(f"registration failed: {head} {buffers[i][head_end+4:head_end+4+length]}")
                    buffers[i] = buffers[i][head_end + 4 + length:]
                    pending[i] -= 1
                    ok += 1
    for sock in sockets:
        sock.close()
    return ok, time.time() - started


def run_dnsperf(port, query_file, seconds, rate=None, verbose=False):
    command = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", query_file, "-l", str(seconds), "-q", "200"]
    if rate:
        command += ["-Q", str(rate)]
    if verbose:
        command += ["-v"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    completed = qps = 0.0
    latencies = []
    for line in out.splitlines():
        if line.strip().startswith("Queries completed:"):
            completed = float(line.split()[2])
        elif line.strip().startswith("Queries per second:"):
            qps = float(line.split()[3])
        elif verbose and line.startswith("> "):
            # `> T name type` is a query that timed out: it counts as dnsperf's 5 s timeout.
            parts = line.split()
            latencies.append(5.0 if parts[1] == "T" else float(parts[-1]))
    return completed, qps, latencies


def wait_for_dns(port, timeout=60):
    deadline = time.time() + timeout
    query = bytes.fromhex("abcd01000001000000000000") + b"\x05local\x00\x00\x06\x00\x01"
    while time.time() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.2)
            try:
                udp.sendto(query, ("127.0.0.1", port))
                if udp.recv(512)[:2] == b"\xab\xcd":
                    return
            except OSError:
                time.sleep(0.1)
    raise SystemExit(f"no DNS answer on port {port}")


def stop(process):
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench(args, functions, workdir):
    data = Dataset(functions)
    query_file = os.path.join(workdir, f"queries-{functions}.txt")
    with open(query_file, "w") as f:
        f.write("\n".join(data.queries) + "\n")
    zones = os.path.join(workdir, f"zones-{functions}")
    os.makedirs(zones, exist_ok=True)
    with open(os.path.join(zones, "local.zone"), "w") as f:
        f.write(data.static_zone())
    knot_dir = os.path.join(workdir, f"knot-{functions}")
    os.makedirs(knot_dir, exist_ok=True)
    with open(os.path.join(knot_dir, "local.zone"), "w") as f:
        f.write(data.knot_zone())
    beacon_dns, beacon_http, knot_port = free_port(), free_port(), free_port()
    with open(os.path.join(knot_dir, "knot.conf"), "w") as f:
        f.write(f"""server:
    listen: 127.0.0.1@{knot_port}
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
    rundir: {knot_dir}
database:
    storage: {knot_dir}/db
template:
  - id: default
    storage: {knot_dir}
    journal-content: none
    zonefile-sync: -1
    semantic-checks: off
zone:
  - domain: local.
    file: local.zone
log:
  - target: stderr
    any: error
""")
    beacon = knot = None
    try:
        beacon = subprocess.Popen(
            [args.beacon, "serve", "--dns", f"127.0.0.1:{beacon_dns}", "--http", f"127.0.0.1:{beacon_http}",
             "--in-memory", "--zones", zones, "--log-level", "warning"] + args.beacon_flag)
        knot = subprocess.Popen(["knotd", "-c", os.path.join(knot_dir, "knot.conf")])
        wait_for_dns(beacon_dns)
        registered, load_seconds = load_beacon(beacon_http, data)
        wait_for_dns(knot_port)
        print(f"\n== N = {functions:,} functions, {registered:,} instances "
              f"(loaded into Beacon in {load_seconds:.1f} s, {registered / load_seconds:,.0f}/s)")
        print(f"   resident memory: Beacon {rss_kib(beacon.pid) / 1024:.0f} MiB, Knot {rss_kib(knot.pid) / 1024:.0f} MiB")
        # Warm both up once.
        for port in (beacon_dns, knot_port):
            run_dnsperf(port, query_file, 2)
        results = {"Beacon": {"qps": [], "cpu": []}, "Knot": {"qps": [], "cpu": []}}
        servers = [("Beacon", beacon, beacon_dns), ("Knot", knot, knot_port)]
        for round_index in range(args.rounds):
            order = servers if round_index % 2 == 0 else list(reversed(servers))
            for name, process, port in order:
                before = cpu_seconds(process.pid)
                completed, qps, _ = run_dnsperf(port, query_file, args.seconds)
                used = cpu_seconds(process.pid) - before
                results[name]["qps"].append(qps)
                results[name]["cpu"].append(used * 1e6 / max(completed, 1))
                print(f"   round {round_index + 1} {name:6s} {qps:10,.0f} qps  {used * 1e6 / max(completed, 1):6.2f} us CPU/query")
        for name, process, port in servers:
            _, _, latencies = run_dnsperf(port, query_file, args.latency_seconds, rate=args.latency_rate, verbose=True)
            latencies.sort()
            results[name]["p99"] = latencies[int(len(latencies) * 0.99)] * 1e6 if latencies else float("nan")
            results[name]["p50"] = latencies[len(latencies) // 2] * 1e6 if latencies else float("nan")
        print(f"   {'server':8s} {'median qps':>12s} {'p50 us':>8s} {'p99 us':>8s} {'CPU us/query':>13s}")
        summary = {}
        for name in ("Beacon", "Knot"):
            r = results[name]
            summary[name] = (statistics.median(r["qps"]), r["p50"], r["p99"], statistics.median(r["cpu"]))
            q, p50, p99, cpu = summary[name]
            print(f"   {name:8s} {q:12,.0f} {p50:8.0f} {p99:8.0f} {cpu:13.2f}")
        b, k = summary["Beacon"], summary["Knot"]
        print(f"   ratio Beacon/Knot: qps {b[0] / k[0]:.2f}x (target >= 1.15), CPU/query {b[3] / k[3]:.2f}x "
              f"(target <= 0.65), p99 at {args.latency_rate:,} qps {b[2] / k[2]:.2f}x (target <= 1.0)")
        return summary
    finally:
        stop(beacon)
        stop(knot)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--functions", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--latency-rate", type=int, default=20_000)
    parser.add_argument("--latency-seconds", type=int, default=5)
    parser.add_argument("--beacon-flag", action="append", default=[], help="extra flag for beacon serve")
    args = parser.parse_args()
    for tool in ("dnsperf", "knotd"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (apt-get install -y dnsperf knot)")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="beacon-bench-") as workdir:
        for functions in args.functions:
            bench(args, functions, workdir)
    print(f"\ntotal time {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
