#!/usr/bin/env python3
"""Scale (issue 8): 1,000,000 registered instances.

Reports resident memory per instance, DNS qps at 1M instances versus 1,000 (same query mix shape,
same run), and the time for a full expiry wave of 100,000 leases with DNS p99 latency during it.

Usage: scale.py [--beacon .build/release/beacon] [--instances 1000000] [--seconds 10]
"""
import argparse, os, subprocess, sys, tempfile, time, socket
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsbench as d

def metric(port, name):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0

def run_server(beacon, zones):
    dns, http = d.free_port(), d.free_port()
    process = subprocess.Popen([beacon, "serve", "--in-memory", "--dns", f"127.0.0.1:{dns}", "--http", f"127.0.0.1:{http}",
                                "--zones", zones, "--log-level", "warning"])
    d.wait_for_dns(dns)
    return process, dns, http

def qps(port, queries, seconds):
    results = [d.run_dnsperf(port, queries, seconds)[1] for _ in range(3)]
    return sorted(results)[1]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--wave", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="beacon-scale-")
    small, large = d.Dataset(334), d.Dataset(args.instances // 3)
    zones = os.path.join(work, "zones")
    os.makedirs(zones)
    open(os.path.join(zones, "local.zone"), "w").write(small.static_zone())
    results = {}
    for label, data in (("1k", small), ("1M", large)):
        queries = os.path.join(work, f"q-{label}.txt")
        open(queries, "w").write("\n".join(data.queries) + "\n")
        process, dns, http = run_server(args.beacon, zones)
        try:
            baseline = d.rss_kib(process.pid)
            count, seconds = d.load_beacon(http, data)
            rss = d.rss_kib(process.pid)
            rate = qps(dns, queries, args.seconds)
            results[label] = rate
            print(f"== {label}: {count:,} instances loaded in {seconds:.1f} s ({count / seconds:,.0f}/s); RSS {rss / 1024:.0f} MiB "
                  f"(baseline {baseline / 1024:.0f} MiB) = {(rss - baseline) * 1024 / count:.0f} bytes per instance; "
                  f"DNS {rate:,.0f} qps", flush=True)
            if label == "1M":
                # The same latency probe without a wave, to compare with the one during it.
                _, _, quiet = d.run_dnsperf(dns, queries, 6, rate=20000, verbose=True)
                quiet.sort()
                quiet_p99 = quiet[int(len(quiet) * 0.99)] * 1e6 if quiet else float("nan")
                # An expiry wave: N more leases that all end together, while dnsperf measures latency.
                wave = d.Dataset(args.wave // 3)
                wave.functions = [(f"wave{s}", f, [(f"w{i}", a, p) for (i, a, p) in inst]) for (s, f, inst) in wave.functions]
                ttl = 20
                registered_at = time.time()
                count = register_wave(http, wave, ttl)
                registered_until = time.time()
                # The leases end over the time it took to register them: from the first 200 to the last.
                first_deadline, last_deadline = registered_at + ttl, registered_until + ttl
                expired_before = metric(http, "beacon_expirations_total")
                time.sleep(max(0, first_deadline - time.time() - 2))
                probe = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(dns), "-d", queries, "-l", "6", "-Q", "20000", "-v"],
                                         stdout=subprocess.PIPE, text=True)
                swept_at = None
                while time.time() < last_deadline + 10:
                    if metric(http, "beacon_expirations_total") - expired_before >= count:
                        swept_at = time.time()
                        break
                    time.sleep(0.01)
                out = probe.communicate()[0]
                latencies = sorted(float(l.split()[-1]) for l in out.splitlines() if l.startswith("> "))
                p99 = latencies[int(len(latencies) * 0.99)] * 1e6 if latencies else float("nan")
                wave_time = (swept_at - last_deadline) if swept_at else float("nan")
                print(f"== expiry wave: {count:,} leases ending within {registered_until - registered_at:.1f} s of each other "
                      f"were all swept {wave_time:.2f} s after the last deadline; DNS p99 at 20,000 qps: {p99:.0f} us during "
                      f"the wave, {quiet_p99:.0f} us without one", flush=True)
        finally:
            d.stop(process)
    print(f"== qps at 1M instances / qps at 1k: {results['1M'] / results['1k']:.2f}x (target >= 0.9)")

def register_wave(http, data, ttl):
    bodies = []
    for service, function, instances in data.functions:
        for ident, address, port in instances:
            bodies.append(f'{{"service":"{service}","function":"{function}","id":"{ident}","address":"{address}","port":{port},"ttl":{ttl}}}')
    s = socket.create_connection(("127.0.0.1", http))
    ok = 0
    for start in range(0, len(bodies), 500):
        chunk = bodies[start:start + 500]
        s.sendall(b"".join(f"POST /v1/register HTTP/1.1\r\nHost: b\r\nContent-Length: {len(b)}\r\n\r\n{b}".encode() for b in chunk))
        buffer = b""
        while buffer.count(b"HTTP/1.1 200") < len(chunk):
            buffer += s.recv(1 << 20)
        ok += len(chunk)
    s.close()
    return ok

if __name__ == "__main__":
    main()
