#!/usr/bin/env python3
"""The client side of the rolling-restart demo: resolve, call, count.

It asks Beacon for `_F._tcp`-style SRV records of NAME (over UDP, with the glue A records from the
additional section), caches each answer for exactly its TTL the way a real resolver would, and calls a
random returned instance over HTTP, again and again, for --duration seconds. It prints the counts,
and each failure as it happens. A failed call is one that was refused, timed out or did not answer
200; a failed resolution (no reply, NXDOMAIN, no records) counts as a failed call too.
No third-party modules: the DNS message is built and parsed here.
"""
import argparse
import http.client
import random
import socket
import struct
import sys
import time


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def read_name(message, offset):
    """Returns (name, offset after the name), following compression pointers (RFC 1035 4.1.4)."""
    labels, end, hops = [], None, 0
    while True:
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        offset += 1
        if length == 0:
            break
        labels.append(message[offset:offset + length].decode())
        offset += length
    return ".".join(labels).lower() + ".", (end if end is not None else offset)


def query_srv(server, name, timeout=1.0):
    """Returns (rcode, [(target, port)], {target: address}, ttl of the SRV RRset)."""
    query_id = random.randrange(65536)
    packet = struct.pack(">HHHHHH", query_id, 0, 1, 0, 0, 0) + encode_name(name) + struct.pack(">HH", 33, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, server)
        while True:
            message, _ = sock.recvfrom(65535)
            if struct.unpack(">H", message[:2])[0] == query_id:
                break
    _, flags, qdcount, ancount, nscount, arcount = struct.unpack(">HHHHHH", message[:12])
    offset = 12
    for _ in range(qdcount):
        _, offset = read_name(message, offset)
        offset += 4
    records = []
    for _ in range(ancount + nscount + arcount):
        owner, offset = read_name(message, offset)
        rtype, _, ttl, length = struct.unpack(">HHIH", message[offset:offset + 10])
        offset += 10
        records.append((owner, rtype, ttl, offset, length))
        offset += length
    targets, addresses, ttls = [], {}, []
    for index, (owner, rtype, ttl, start, length) in enumerate(records):
        if rtype == 33 and index < ancount:
            _, _, port = struct.unpack(">HHH", message[start:start + 6])
            target, _ = read_name(message, start + 6)
            targets.append((target, port))
            ttls.append(ttl)
        elif rtype == 1:
            addresses[owner] = socket.inet_ntoa(message[start:start + 4])
    return flags & 0xF, targets, addresses, (min(ttls) if ttls else 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dns", required=True, help="HOST:PORT of Beacon's DNS listener")
    parser.add_argument("--name", required=True, help="F.S.local")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--pause", type=float, default=0.005, help="seconds between calls")
    args = parser.parse_args()
    host, port = args.dns.rsplit(":", 1)
    server = (host, int(port))

    cache_until, endpoints = 0.0, []
    calls = ok = failed = queries = 0
    per_instance = {}
    end = time.monotonic() + args.duration
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= cache_until:
            queries += 1
            try:
                rcode, targets, addresses, ttl = query_srv(server, args.name)
            except (OSError, ValueError) as error:
                rcode, targets, addresses, ttl = -1, [], {}, 0
                print(f"{time.time():.3f} resolve failed: {error}", flush=True)
            endpoints = [(addresses[t], p, t) for t, p in targets if t in addresses]
            # Cache for exactly the TTL, as a resolver that honours it would (0: ask again next time).
            cache_until = now + ttl
            if rcode != 0 or not endpoints:
                print(f"{time.time():.3f} resolve gave rcode {rcode} with {len(endpoints)} instances", flush=True)
        calls += 1
        if not endpoints:
            failed += 1
            time.sleep(0.05)
            continue
        address, port, target = random.choice(endpoints)
        try:
            connection = http.client.HTTPConnection(address, port, timeout=2)
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read().decode().strip()
            connection.close()
            if response.status == 200:
                ok += 1
                per_instance[body] = per_instance.get(body, 0) + 1
            else:
                failed += 1
                print(f"{time.time():.3f} {target} {address}:{port} answered {response.status}", flush=True)
        except OSError as error:
            failed += 1
            print(f"{time.time():.3f} {target} {address}:{port} failed: {error}", flush=True)
        time.sleep(args.pause)

    print(f"calls={calls} ok={ok} failed={failed} dns_queries={queries} per_instance={per_instance}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
