#!/usr/bin/env python3
"""End-to-end lease figures (issue 10), over real sockets:
  1. the time from a register's 200 to the name answering over UDP (1,000 registrations);
  2. how late after its deadline an unrenewed instance left the answers (50 instances, ttl 2,
     polled every few milliseconds; the deadline is taken as the client's send time + ttl, which
     is no earlier than the server's, so a negative lateness means it left before its lease ended).
Usage: leaselatency.py [--beacon .build/release/beacon]
"""
import argparse, os, socket, statistics, struct, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsbench as d


def query_a(sock, port, name):
    qid = int.from_bytes(os.urandom(2), "big")
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    sock.sendto(struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack(">HH", 1, 1), ("127.0.0.1", port))
    while True:
        reply = sock.recv(2048)
        if reply[:2] == qid.to_bytes(2, "big"):
            return struct.unpack(">H", reply[6:8])[0] > 0


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))

    def register(self, body):
        self.sock.sendall(f"POST /v1/register HTTP/1.1\r\nHost: b\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.sock.recv(4096)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += self.sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    args = parser.parse_args()
    dns, http = d.free_port(), d.free_port()
    beacon = subprocess.Popen([args.beacon, "serve", "--in-memory", "--dns", f"127.0.0.1:{dns}", "--http", f"127.0.0.1:{http}",
                               "--log-level", "warning"])
    try:
        d.wait_for_dns(dns)
        client = Client(http)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.settimeout(1)
        delays = []
        first_try = 0
        for n in range(1000):
            client.register(f'{{"service":"lat","function":"f{n}","id":"i{n}","address":"10.1.0.1","port":80,"ttl":60}}')
            acked = time.perf_counter()
            tries = 1
            while not query_a(udp, dns, f"f{n}.lat.local"):
                tries += 1
            first_try += tries == 1
            delays.append((time.perf_counter() - acked) * 1e6)
        delays.sort()
        print(f"== register 200 -> the name answers over UDP (1,000 registrations): median {statistics.median(delays):.0f} us, "
              f"p99 {delays[989]:.0f} us, worst {delays[-1]:.0f} us; the first query after the 200 already answered "
              f"in {first_try} of 1000")
        deadlines = {}
        for n in range(50):
            sent = time.perf_counter()
            client.register(f'{{"service":"exp","function":"f{n}","id":"e{n}","address":"10.2.0.1","port":80,"ttl":2}}')
            deadlines[n] = sent + 2
        last_seen = {n: None for n in deadlines}
        end = max(deadlines.values()) + 1
        while time.perf_counter() < end:
            for n in deadlines:
                asked = time.perf_counter()
                if query_a(udp, dns, f"f{n}.exp.local"):
                    last_seen[n] = asked
        lateness = [(last_seen[n] - deadlines[n]) * 1e3 for n in deadlines if last_seen[n] is not None]
        print(f"== unrenewed instances (ttl 2, 50 of them): last positive answer relative to the deadline: "
              f"latest {max(lateness):+.1f} ms, median {statistics.median(lateness):+.1f} ms "
              f"(negative: gone before the lease ended)")
    finally:
        d.stop(beacon)


if __name__ == "__main__":
    main()
