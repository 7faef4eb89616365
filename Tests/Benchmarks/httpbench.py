#!/usr/bin/env python3
"""Heartbeat throughput over HTTP keep-alive (issue 8): wrk against Beacon's heartbeat endpoint
(a Lua script posting to a set of registered ids) and against nginx answering
`return 200 '{"ok":true}'`, side by side in one run, same wrk threads and connections.

With --tls (issue 18) the same again over HTTPS: Beacon with --tls-cert/--tls-key and nginx with
`listen ... ssl`, both on one certificate made by Tests/Interop/tls-certs.sh (EC P-256), TLS 1.2
and 1.3. wrk keeps its connections, so this measures record encryption, not handshakes.
With --baseline BIN a second Beacon binary (say, the build before a change) runs in the same rounds.

Each row also gives the server's CPU time per request (utime + stime of its processes, from /proc),
which stays comparable when wrk and the server compete for the same cores.

Usage: httpbench.py [--beacon .build/release/beacon] [--baseline BIN] [--tls] [--seconds 10] [--rounds 3]
Every process it starts is stopped by PID.
"""
import argparse, os, re, sys, shutil, signal, socket, ssl, statistics, subprocess, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def http(port, request, context=None):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        s = context.wrap_socket(raw, server_hostname="127.0.0.1") if context else raw
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
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1, "ms": 1000, "s": 1_000_000}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (rps, float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
            int(non2xx.group(1)) if non2xx else 0, total)


def cpu_seconds(pid):
    """utime + stime of `pid` and its children that are alive (nginx's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / tick


def nginx_config(work, plain_port, tls_port, certs):
    tls = f"""
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {certs}/server.pem;
        ssl_certificate_key {certs}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}""" if tls_port else ""
    return f"""worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{plain_port};
        location / {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}{tls}
}}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--baseline", help="another beacon binary to run in the same rounds (plain HTTP)")
    parser.add_argument("--tls", action="store_true", help="add Beacon and nginx over HTTPS")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--beacon-flag", action="append", default=[])
    args = parser.parse_args()
    for tool in ("wrk", "nginx") + (("openssl",) if args.tls else ()):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (apt-get install -y wrk nginx-light openssl)")
    work = tempfile.mkdtemp(prefix="beacon-httpbench-")
    certs = os.path.join(work, "certs")
    context = None
    if args.tls:
        subprocess.run(["bash", os.path.join(HERE, "..", "Interop", "tls-certs.sh"), certs], check=True)
        context = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    nginx_port, nginx_tls_port = free_port(), free_port() if args.tls else None
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(nginx_config(work, nginx_port, nginx_tls_port, certs))
    ids = [f"hb{i}" for i in range(args.instances)]
    with open(f"{work}/heartbeat.lua", "w") as f:
        f.write("local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n")
        f.write("""local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/instances/" .. ids[(counter % #ids) + 1] .. "/heartbeat", nil, "")
end
""")
    body = b"".join(
        (f'POST /v1/register HTTP/1.1\r\nHost: b\r\nContent-Length: {len(b)}\r\n\r\n{b}').encode()
        for b in (f'{{"service":"bench","function":"hb","id":"{i}","address":"10.0.0.1","port":{1000 + n},"ttl":600}}'
                  for n, i in enumerate(ids)))
    processes = []
    targets = []  # (name, url, lua script or None, pid)
    try:
        def start_beacon(name, binary, flags, tls_context):
            port = free_port()
            process = subprocess.Popen([binary, "serve", "--in-memory", "--dns", f"127.0.0.1:{free_port()}",
                                        "--http", f"127.0.0.1:{port}", "--log-level", "warning"] + flags + args.beacon_flag)
            processes.append(process)
            time.sleep(1)
            http(port, body + b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", tls_context)
            check = http(port, b"POST /v1/instances/hb1/heartbeat HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                         tls_context)
            print(f"# {name}: a heartbeat reply:", check.split(b"\r\n\r\n", 1)[1].decode())
            scheme = "https" if tls_context else "http"
            targets.append((name, f"{scheme}://127.0.0.1:{port}", f"{work}/heartbeat.lua", process.pid))

        start_beacon("Beacon", args.beacon, [], None)
        if args.baseline:
            start_beacon("Beacon-before", args.baseline, [], None)
        if args.tls:
            start_beacon("Beacon-TLS", args.beacon, ["--tls-cert", f"{certs}/server.pem", "--tls-key", f"{certs}/server.key"],
                         context)
        nginx = subprocess.Popen(["nginx", "-c", f"{work}/nginx.conf", "-p", work])
        processes.append(nginx)
        time.sleep(1)
        targets.append(("nginx", f"http://127.0.0.1:{nginx_port}/", None, nginx.pid))
        if args.tls:
            targets.append(("nginx-TLS", f"https://127.0.0.1:{nginx_tls_port}/", None, nginx.pid))

        results = {name: [] for name, _, _, _ in targets}
        for round_index in range(args.rounds):
            order = targets if round_index % 2 == 0 else list(reversed(targets))
            for name, url, script, pid in order:
                before = cpu_seconds(pid)
                rps, p99, errors, total = wrk(url, script, args.seconds, args.threads, args.connections)
                cpu = (cpu_seconds(pid) - before) / max(1, total) * 1e6
                results[name].append((rps, p99, errors, cpu))
                print(f"   round {round_index + 1} {name:13s} {rps:10,.0f} requests/s  p99 {p99:7.0f} us  "
                      f"cpu {cpu:5.1f} us/request  non-2xx {errors}")
        medians = {name: (statistics.median(r[0] for r in rows), statistics.median(r[3] for r in rows))
                   for name, rows in results.items()}
        for name, (rps, cpu) in medians.items():
            print(f"   median {name:13s} {rps:10,.0f} requests/s  cpu {cpu:5.1f} us/request")
        b, n = medians["Beacon"][0], medians["nginx"][0]
        print(f"   median: Beacon heartbeats {b:,.0f}/s, nginx return 200 {n:,.0f}/s, ratio {b / n:.2f}x (target >= 1.0)")
        if args.tls:
            bt, nt = medians["Beacon-TLS"][0], medians["nginx-TLS"][0]
            print(f"   median over TLS: Beacon heartbeats {bt:,.0f}/s, nginx {nt:,.0f}/s, ratio {bt / nt:.2f}x; "
                  f"Beacon TLS/plain {bt / b:.2f}x")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT if process.args[0] == "nginx" else signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
