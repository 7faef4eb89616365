#!/usr/bin/env python3
"""Reload under load (issue 17): dnsperf keeps querying a release Beacon while it gets 20 SIGHUPs,
the zone file changing between them and one of them broken. Asserts that no query was lost, every
reload took effect or was refused as a whole (the broken one: the old zone kept answering, the
failure counted in /metrics), and the registered instance kept answering throughout.

Usage: reload.py [--beacon .build/release/beacon] [--reloads 20] [--qps 3000]
Needs dnsperf (Debian's `dnsperf`). Everything on 127.0.0.1, bounded in time.
"""
import argparse, os, re, shutil, signal, socket, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import free_port, http as request, wait_healthy  # noqa: E402


def http(port, method, path, body=None):
    """(status, body text): /metrics is text, the rest is not needed here."""
    status, payload = request(port, method, path, body)
    return status, payload if isinstance(payload, str) else ""

ZONE = """$ORIGIN local.
$TTL 60
@ SOA ns hostmaster {serial} 3600 600 86400 5
@ NS ns
ns A 127.0.0.1
www A 192.0.2.{last}
"""


def query_a(port, name):
    packet = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\x00\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(packet, ("127.0.0.1", port))
        reply = s.recv(4096)
    return socket.inet_ntoa(reply[-4:]) if struct.unpack(">H", reply[6:8])[0] else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=os.environ.get("BEACON_BIN", ".build/release/beacon"))
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--qps", type=int, default=3000)
    args = parser.parse_args()
    if not shutil.which("dnsperf"):
        print("not ok - dnsperf is not installed (apt-get install dnsperf)")
        sys.exit(1)
    work = tempfile.mkdtemp(prefix="beacon-reload-")
    zones = os.path.join(work, "zones")
    os.makedirs(zones)
    zone_path = os.path.join(zones, "local.zone")
    with open(zone_path, "w") as f:
        f.write(ZONE.format(serial=1, last=1))
    dns, web = free_port(), free_port()
    log_path = os.path.join(work, "beacon.log")
    beacon = subprocess.Popen([args.beacon, "serve", "--in-memory", "--zones", zones, "--dns", f"127.0.0.1:{dns}",
                               "--http", f"127.0.0.1:{web}"], stderr=open(log_path, "w"))
    failures = []
    try:
        wait_healthy(web, 6)
        http(web, "POST", "/v1/register", {"service": "orders", "function": "create", "address": "10.0.0.5",
                                           "port": 80, "ttl": 3600})
        with open(os.path.join(work, "queries"), "w") as f:
            f.write("www.local A\ncreate.orders.local A\ncreate.orders.local SRV\nns.local A\nlocal SOA\nmissing.local A\n")
        seconds = args.reloads * 0.5 + 2
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(dns), "-d", os.path.join(work, "queries"),
                                 "-l", str(int(seconds)), "-Q", str(args.qps), "-t", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        broken_at = args.reloads // 2
        seen_during_broken = None
        for n in range(1, args.reloads + 1):
            if n == broken_at:
                with open(zone_path, "w") as f:
                    f.write(ZONE.format(serial=n, last=n) + "broken A 999.0.0.1\n")
            else:
                with open(zone_path, "w") as f:
                    f.write(ZONE.format(serial=n, last=n))
            beacon.send_signal(signal.SIGHUP)
            time.sleep(0.4)
            answer = query_a(dns, "www.local")
            if n == broken_at:
                seen_during_broken = answer
                if answer != f"192.0.2.{n - 1}":
                    failures.append(f"after the broken reload www.local is {answer}, not the previous 192.0.2.{n - 1}")
            elif answer != f"192.0.2.{n}":
                failures.append(f"after reload {n} www.local is {answer}, not 192.0.2.{n}")
            if query_a(dns, "create.orders.local") != "10.0.0.5":
                failures.append(f"the registered instance did not answer after reload {n}")
        output, _ = perf.communicate(timeout=seconds + 30)
        sent = int(re.search(r"Queries sent:\s+(\d+)", output).group(1))
        lost = int(re.search(r"Queries lost:\s+(\d+)", output).group(1))
        completed = int(re.search(r"Queries completed:\s+(\d+)", output).group(1))
        _, metrics = http(web, "GET", "/metrics")
        reloads = int(re.search(r"^beacon_reloads_total (\d+)", metrics, re.M).group(1))
        refused = int(re.search(r"^beacon_reload_failures_total (\d+)", metrics, re.M).group(1))
        log = open(log_path).read()
        print(f"# dnsperf at {args.qps} qps through {args.reloads} SIGHUPs: {sent} sent, {completed} completed, {lost} lost")
        print(f"# reloads in effect {reloads}, refused {refused}; www.local during the broken one: {seen_during_broken}")
        if lost:
            failures.append(f"{lost} of {sent} queries lost during the reloads")
        if reloads != args.reloads - 1 or refused != 1:
            failures.append(f"beacon_reloads_total {reloads} (want {args.reloads - 1}), failures {refused} (want 1)")
        if "local.zone:7:" not in log:
            failures.append("the broken zone's file:line:column is not in the log")
        if beacon.poll() is not None:
            failures.append("beacon exited")
    finally:
        if beacon.poll() is None:
            beacon.send_signal(signal.SIGTERM)
            beacon.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"not ok - {failure}")
    if not failures:
        print(f"ok - {args.reloads} reloads under dnsperf: no query lost, the broken zone kept the old one")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
