#!/usr/bin/env python3
"""Load and abuse tests for Beacon (issues 5 and 14), loopback only, bounded in time.

1. A storm of random and malformed UDP packets at full speed (several sender processes) while a
   client sends real queries and checks each answer; reports the share answered correctly.
2. 2,000 idle TCP connections to the DNS port and 2,000 to the HTTP port held open while DNS (UDP and
   TCP) and HTTP keep serving.
3. A slow-loris HTTP client (200 connections trickling a request head): the server answers each 408
   and closes it at its request timeout, and keeps serving everyone else.
4. Hostile HTTP clients (http_hostile.py): 200 MiB of junk behind a parked watch and 8,000 pipelined
   requests with unread responses (server RSS growth), 2,000 watches whose clients reset (the
   watches gauge), tens of thousands of reset watches expiring (another client's /healthz p99), a
   413 and a 431 to a client still sending, `%2F` routing and integer-only body numbers.
5. Registration churn (table_hostile.py): 8,000 re-registrations of one id with a day-long lease and
   the largest meta (RSS growth), 150,000 unique names registered and deleted (RSS growth, then
   `GET /v1/services` on the emptied table, and DNS latency while a client polls it).
6. Hostile DNS clients (dns_hostile.py, a server each): SRV floods for a 3,000-instance function with
   and without --rrl (another client's p99), a 2,000-instance answer over TCP (records that fit in
   64 KiB), 2,000 pipelined SRV queries never read (RSS growth, other TCP clients' p99), TCP slow
   loris at --max-tcp-connections 20 (real queries' p99), --rrl across 4 UDP threads (full answers).

Usage: abuse.py [--beacon .build/release/beacon] [--seconds 10] [--only GROUP ...]
Exit status 0 only if every check passes.
"""
import argparse, json, multiprocessing, os, random, resource, signal, socket, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import free_port, wait_healthy  # noqa: E402

import dns_hostile
import http_hostile
import table_hostile

failures = 0


def report(ok, text):
    global failures
    print(("ok - " if ok else "not ok - ") + text, flush=True)
    if not ok:
        failures += 1


def name_wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def query(name, qtype=1, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    return qid, struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + name_wire(name) + struct.pack(">HH", qtype, 1)


def a_answer(reply, qid):
    """(rcode, [IPv4 strings]) of a reply to query `qid`, or None."""
    if len(reply) < 12 or struct.unpack(">H", reply[:2])[0] != qid:
        return None
    rcode = reply[3] & 0x0F
    ancount = struct.unpack(">H", reply[6:8])[0]
    offset = 12
    while reply[offset] != 0:
        offset += 1 + reply[offset]
    offset += 5
    addresses = []
    for _ in range(ancount):
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else 0
        rtype, _, _, rdlen = struct.unpack(">HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1:
            addresses.append(socket.inet_ntoa(reply[offset:offset + 4]))
        offset += rdlen
    return rcode, addresses


def http(port, method, path, body=None, timeout=3):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        data = body.encode() if body else b""
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def storm(port, seconds, seed):
    rng = random.Random(seed)
    base = [query("create.orders.local", t)[1] for t in (1, 28, 33, 16, 255)]
    deadline = time.time() + seconds
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    while time.time() < deadline:
        for _ in range(200):
            kind = rng.random()
            if kind < 0.3:
                packet = rng.randbytes(rng.randrange(0, 600))
            else:
                packet = bytearray(rng.choice(base))
                for _ in range(rng.randrange(1, 6)):
                    packet[rng.randrange(len(packet))] = rng.randrange(256)
                if rng.random() < 0.2:
                    packet = packet[: rng.randrange(len(packet))]
                if rng.random() < 0.1 and len(packet) > 2:
                    packet[2] |= 0x80  # QR set: must be dropped silently
                packet = bytes(packet)
            try:
                sock.sendto(packet, ("127.0.0.1", port))
                sent += 1
            except OSError:
                pass
    return sent


def check_queries(dns_port, seconds, expected, interval=0.005):
    """Real queries for `seconds`: (answered correctly on the first try, answered correctly within
    two tries, total). A second try is what real stub resolvers do after a timeout (glibc, dig);
    the flooders share this machine's two cores with Beacon, so a datagram the kernel dropped while
    the UDP threads waited for CPU is not the server's doing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    first = correct = total = 0

    def ask():
        qid, packet = query("create.orders.local")
        sock.sendto(packet, ("127.0.0.1", dns_port))
        try:
            while True:
                parsed = a_answer(sock.recv(2048), qid)
                if parsed is not None:
                    return parsed == (0, [expected])
        except socket.timeout:
            return False

    deadline = time.time() + seconds
    while time.time() < deadline:
        total += 1
        if ask():
            first += 1
            correct += 1
        elif ask():
            correct += 1
        time.sleep(interval)
    return first, correct, total


SCENARIO_GROUPS = ["storm", "idle", "loris", "http", "table", "dns"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--only", nargs="+", choices=SCENARIO_GROUPS, help="run only these groups of scenarios")
    args = parser.parse_args()
    groups = set(args.only or SCENARIO_GROUPS)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    dns, web = free_port(), free_port()
    server = subprocess.Popen([args.beacon, "serve", "--in-memory", "--dns", f"127.0.0.1:{dns}", "--http", f"127.0.0.1:{web}",
                               "--tcp-idle-timeout", "120", "--http-idle-timeout", "120", "--http-request-timeout", "3",
                               "--log-level", "warning"])
    try:
        wait_healthy(web, 5)  # if it did not start, the registration below says so
        status, _ = http(web, "POST", "/v1/register",
                         '{"service":"orders","function":"create","address":"10.9.8.7","port":80,"ttl":600}')
        report(status == 200, "registered an instance")

        if "storm" in groups:
            storm_scenario(dns, args.seconds, server)
        if "idle" in groups:
            idle_scenario(dns, web)
        if "loris" in groups:
            loris_scenario(web)
        if "http" in groups:
            # 4. Hostile HTTP clients.
            http_hostile.junk_behind_watch(web, server.pid, report)
            http_hostile.pipelined_unread(web, server.pid, report)
            http_hostile.watches_after_resets(web, report)
            http_hostile.reset_watches_expiring(web, report)
            http_hostile.oversize_status(web, report)
            http_hostile.routing_and_numbers(web, report)
            report(server.poll() is None, "the server survived the hostile HTTP clients")
        if "table" in groups:
            # 5. Registrations that once grew memory without bound and stalled DNS (items 3 and 4).
            table_hostile.reregistered_id(web, server.pid, report)
            table_hostile.unique_names_churn(dns, web, server.pid, report)
            report(server.poll() is None, "the server survived the registration churn")
        if "dns" in groups:
            # 6. Hostile DNS clients (items 5 to 9), each against its own server with the flags it needs.
            dns_hostile.large_function_flood(args.beacon, report)
            dns_hostile.large_answer_over_tcp(args.beacon, report)
            dns_hostile.unread_tcp_answers(args.beacon, report)
            dns_hostile.tcp_slow_loris(args.beacon, report)
            dns_hostile.rrl_across_threads(args.beacon, report)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    sys.exit(1 if failures else 0)


def storm_scenario(dns, seconds, server):
    """1. A storm of junk packets beside real queries."""
    with multiprocessing.Pool(2) as pool:
        storm_result = pool.starmap_async(storm, [(dns, seconds, 1), (dns, seconds, 2)])
        first, correct, total = check_queries(dns, seconds, "10.9.8.7")
        sent = sum(storm_result.get())
    share = correct / max(total, 1)
    print(f"# storm: {sent:,} junk packets in {seconds} s ({sent / seconds:,.0f}/s) beside {total} real "
          f"queries: {first} answered correctly at the first try ({first / max(total, 1):.1%}), {correct} within two ({share:.1%})")
    report(share >= 0.95, f"real queries kept getting correct answers during the storm ({share:.1%} within two tries)")
    report(server.poll() is None, "the server survived the storm")



def idle_scenario(dns, web):
    """2. 2,000 idle TCP connections to each port."""
    idle = []
    for port in (dns, web):
        for _ in range(2000):
            idle.append(socket.create_connection(("127.0.0.1", port)))
    time.sleep(0.5)
    correct, _, total = check_queries(dns, 2, "10.9.8.7")  # first tries: nothing floods here
    tcp_ok = 0
    for _ in range(20):
        qid, packet = query("create.orders.local")
        with socket.create_connection(("127.0.0.1", dns), timeout=2) as s:
            s.sendall(struct.pack(">H", len(packet)) + packet)
            length = struct.unpack(">H", s.recv(2))[0]
            data = b""
            while len(data) < length:
                data += s.recv(length - len(data))
            tcp_ok += a_answer(data, qid) == (0, ["10.9.8.7"])
    http_ok = sum(http(web, "GET", "/v1/services/orders/create")[0] == 200 for _ in range(20))
    print(f"# idle: 4,000 connections open; UDP {correct}/{total}, TCP {tcp_ok}/20, HTTP {http_ok}/20 answered")
    report(correct == total and tcp_ok == 20 and http_ok == 20, "DNS and HTTP keep serving with 2,000 idle TCP and 2,000 idle HTTP connections open")
    for s in idle:
        s.close()



def loris_scenario(web):
    """3. Slow loris: trickle a request head one byte at a time."""
    loris = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", web))
        s.setblocking(False)
        loris.append(s)
    started = time.time()
    head = b"GET /v1/services HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 1000
    closed_at = {}
    answered_408 = set()
    position = 0
    while time.time() - started < 8 and len(closed_at) < len(loris):
        for index, s in enumerate(loris):
            if index in closed_at:
                continue
            try:
                s.send(head[position:position + 1])
                data = s.recv(4096)
                if data.startswith(b"HTTP/1.1 408 "):
                    answered_408.add(index)
                if data == b"":
                    closed_at[index] = time.time() - started
            except BlockingIOError:
                pass
            except OSError:
                closed_at[index] = time.time() - started
        position = min(position + 1, len(head) - 1)
        served = http(web, "GET", "/healthz")[0] == 200
        if not served:
            break
        time.sleep(0.25)
    for s in loris:
        s.close()
    latest = max(closed_at.values()) if closed_at else float("nan")
    print(f"# slow loris: {len(closed_at)}/200 trickling connections closed by the server, the last after {latest:.1f} s "
          f"(request timeout 3 s), {len(answered_408)} answered 408 first; /healthz answered throughout: {served}")
    report(len(closed_at) == 200 and latest < 6 and served, "slow-loris connections are cut at the request timeout while others are served")
    report(len(answered_408) == 200, f"each timed-out request is answered 408 before the close ({len(answered_408)}/200)")
    metrics = http(web, "GET", "/metrics")[1].decode()
    timed_out = [l for l in metrics.splitlines() if l.startswith("beacon_http_connections_timed_out_total")]
    print("# " + (timed_out[0] if timed_out else "no timeout metric"))


if __name__ == "__main__":
    main()
