#!/usr/bin/env python3
"""Heartbeat throughput over HTTP keep-alive (issue 8): wrk against Beacon's heartbeat endpoint
(a Lua script posting to a set of registered ids) and against nginx answering
`return 200 '{"ok":true}'`, side by side in one run, same wrk threads and connections.

Usage: httpbench.py [--beacon .build/release/beacon] [--seconds 10] [--rounds 3] [--connections 64]
Every process it starts is stopped by PID.
"""
import argparse, os, re, shutil, signal, socket, statistics, subprocess, tempfile, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def http(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data

def wrk(url, script, seconds, threads, connections):
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1, "ms": 1000, "s": 1_000_000}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"), int(non2xx.group(1)) if non2xx else 0

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--beacon-flag", action="append", default=[])
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (apt-get install -y wrk nginx-light)")
    work = tempfile.mkdtemp(prefix="beacon-httpbench-")
    dns, beacon_port, nginx_port = free_port(), free_port(), free_port()
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"""worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}
}}
""")
    ids = [f"hb{i}" for i in range(args.instances)]
    with open(f"{work}/heartbeat.lua", "w") as f:
        f.write("local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n")
        f.write("""local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/instances/" .. ids[(counter % #ids) + 1] .. "/heartbeat", nil, "")
end
""")
    beacon = nginx = None
    try:
        beacon = subprocess.Popen([args.beacon, "serve", "--in-memory", "--dns", f"127.0.0.1:{dns}",
                                   "--http", f"127.0.0.1:{beacon_port}", "--log-level", "warning"] + args.beacon_flag)
        nginx = subprocess.Popen(["nginx", "-c", f"{work}/nginx.conf", "-p", work])
        time.sleep(1)
        body = b"".join(
            (f'POST /v1/register HTTP/1.1\r\nHost: b\r\nContent-Length: {len(b)}\r\n\r\n{b}').encode()
            for b in (f'{{"service":"bench","function":"hb","id":"{i}","address":"10.0.0.1","port":{1000 + n},"ttl":600}}'
                      for n, i in enumerate(ids)))
        http(beacon_port, body + b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        check = http(beacon_port, b"POST /v1/instances/hb1/heartbeat HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        print("# a heartbeat reply:", check.split(b"\r\n\r\n", 1)[1].decode())
        results = {"Beacon": [], "nginx": []}
        for round_index in range(args.rounds):
            order = [("Beacon", f"http://127.0.0.1:{beacon_port}", f"{work}/heartbeat.lua"),
                     ("nginx", f"http://127.0.0.1:{nginx_port}/", None)]
            if round_index % 2:
                order.reverse()
            for name, url, script in order:
                rps, p99, errors = wrk(url, script, args.seconds, args.threads, args.connections)
                results[name].append((rps, p99, errors))
                print(f"   round {round_index + 1} {name:7s} {rps:10,.0f} requests/s  p99 {p99:7.0f} us  non-2xx {errors}")
        b = statistics.median(r[0] for r in results["Beacon"])
        n = statistics.median(r[0] for r in results["nginx"])
        print(f"   median: Beacon heartbeats {b:,.0f}/s, nginx return 200 {n:,.0f}/s, ratio {b / n:.2f}x (target >= 1.0)")
    finally:
        for process in (beacon, nginx):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM if process is beacon else signal.SIGQUIT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
