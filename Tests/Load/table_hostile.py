"""Hostile registration patterns for abuse.py (issue 14, items 3 and 4), each bounded in time and
asserting its bound: memory follows the live table, and the table's summary never stalls DNS.

Every scenario takes the ports, the server's PID (for its RSS) and abuse.py's `report`, prints one
`# ...` line with its figure, and reports pass or fail.
"""
import multiprocessing, os, select, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import paced_latencies
from http_hostile import LATENCY_BOUND_MS, RSS_BOUND_MIB, request, rss_mib

# DNS on loopback answers in about 0.2 ms; a summary walking the table under its lock made it 25-100.
MEDIAN_BOUND_MS = 5


def register_request(body):
    return (b"POST /v1/register HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


def delete_request(ident):
    return b"DELETE /v1/instances/%s HTTP/1.1\r\nHost: t\r\n\r\n" % ident.encode()


def pipeline(port, requests, seconds, window=256, drain_seconds=5):
    """Sends the requests of the iterable `requests` on one keep-alive connection, at most `window`
    unanswered, for at most `seconds`, then waits at most `drain_seconds` for the answers still due.
    Returns (sent, answered, answered with 200)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    source = iter(requests)
    exhausted = False
    sent = answered = ok = 0
    outgoing, incoming = b"", b""
    deadline = time.time() + seconds
    while time.time() < deadline + drain_seconds and not (exhausted and not outgoing and answered == sent):
        if time.time() >= deadline:
            exhausted = True  # time is up: no more requests, only the answers still due
        if not outgoing and not exhausted and sent - answered < window:
            batch = []
            for _ in range(window - (sent - answered)):
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                batch.append(item)
            sent += len(batch)
            outgoing = b"".join(batch)
        readable, writable, _ = select.select([s], [s] if outgoing else [], [], 0.5)
        if writable:
            outgoing = outgoing[s.send(outgoing):]
        if readable:
            data = s.recv(1 << 20)
            if not data:
                break
            incoming += data
            position = 0
            while True:
                head_end = incoming.find(b"\r\n\r\n", position)
                if head_end < 0:
                    break
                length_at = incoming.find(b"Content-Length: ", position, head_end)
                length = int(incoming[length_at + 16:incoming.find(b"\r\n", length_at)]) if length_at >= 0 else 0
                if len(incoming) < head_end + 4 + length:
                    break
                answered += 1
                ok += incoming[position + 9:position + 12] == b"200"
                position = head_end + 4 + length
            incoming = incoming[position:]
    s.close()
    return sent, answered, ok


def reregistered_id(port, pid, report, count=8000, seconds=20):
    """8,000 re-registrations of one id with TTL 86400 and the largest meta the contract allows."""
    meta = ",".join(f'"k{k:02d}":"{"v" * 247}"' for k in range(64))
    body = ('{"service":"churn","function":"one","address":"10.7.7.7","port":80,"id":"same","ttl":86400,'
            f'"meta":{{{meta}}}}}').encode()
    before = rss_mib(pid)
    started = time.time()
    sent, answered, ok = pipeline(port, (register_request(body) for _ in range(count)), seconds)
    elapsed = time.time() - started
    time.sleep(0.3)
    growth = rss_mib(pid) - before
    print(f"# {ok:,} of {count:,} re-registrations of one id (TTL 86400, meta {len(body) / 1024:.0f} KiB) in "
          f"{elapsed:.1f} s: server RSS {growth:+.1f} MiB with one instance live")
    report(ok == count, f"every re-registration was answered 200 ({ok}/{count})")
    report(growth < RSS_BOUND_MIB, f"re-registering one id grows RSS by less than {RSS_BOUND_MIB} MiB ({growth:+.1f})")
    request(port, "DELETE", "/v1/instances/same")


def query_a(name, qid):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack(">HH", 1, 1)


def probe_dns(port, name, stop, interval=0.005):
    """UDP query latencies in ms until `stop` is set, paced as http_hostile.probe_healthz is; None
    for a query unanswered within 2 s."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    qid = 0

    def ask():
        nonlocal qid
        qid = (qid + 1) & 0xFFFF
        sock.sendto(query_a(name, qid), ("127.0.0.1", port))
        try:
            while struct.unpack(">H", sock.recv(4096)[:2])[0] != qid:
                pass
            return True
        except socket.timeout:
            return False

    return paced_latencies(ask, interval, lambda: not stop.is_set())


def percentiles(latencies):
    answered = sorted(l for l in latencies if l is not None)
    if not answered:
        return float("inf"), float("inf"), len(latencies)
    return answered[len(answered) // 2], answered[min(len(answered) - 1, int(len(answered) * 0.99))], \
        len(latencies) - len(answered)


def poll_services(port, stop):
    polls = 0
    while not stop.is_set():
        request(port, "GET", "/v1/services", timeout=10)
        polls += 1
    return polls


def unique_names_churn(dns, port, pid, report, count=150_000, seconds=10, probe_seconds=2):
    """Unique service and function names registered and deleted (as many of `count` as go in
    `seconds`); then /v1/services on the emptied table, and DNS latency while a client polls it."""
    before = rss_mib(pid)

    def requests():
        for index in range(count):
            body = (f'{{"service":"u{index}","function":"f{index}","address":"10.8.0.1","port":80,'
                    f'"id":"u{index}","ttl":600}}').encode()
            yield register_request(body)
            yield delete_request(f"u{index}")

    started = time.time()
    sent, answered, ok = pipeline(port, requests(), seconds)
    churned = ok // 2
    elapsed = time.time() - started
    time.sleep(0.3)
    growth = rss_mib(pid) - before
    timings = []
    for _ in range(5):
        begun = time.perf_counter()
        status, body = request(port, "GET", "/v1/services", timeout=10)
        timings.append((time.perf_counter() - begun) * 1000)
    listing_ms = sorted(timings)[2]
    with multiprocessing.Manager() as manager, multiprocessing.Pool(2) as pool:
        stop = manager.Event()
        probe = pool.apply_async(probe_dns, (dns, "create.orders.local", stop))
        poller = pool.apply_async(poll_services, (port, stop))
        time.sleep(probe_seconds)
        stop.set()
        latencies = probe.get(timeout=30)
        polls = poller.get(timeout=30)
    median, p99, failed = percentiles(latencies)
    print(f"# {churned:,} unique names registered and deleted in {elapsed:.1f} s: server RSS {growth:+.1f} MiB; "
          f"GET /v1/services on the emptied table {listing_ms:.1f} ms; DNS while it is polled ({polls:,} polls): "
          f"median {median:.2f} ms, p99 {p99:.2f} ms, {failed} unanswered")
    report(answered == sent and ok == answered, f"every register and delete was answered 200 ({ok}/{sent})")
    report(growth < RSS_BOUND_MIB, f"churning unique names grows RSS by less than {RSS_BOUND_MIB} MiB ({growth:+.1f})")
    report(listing_ms < 10, f"GET /v1/services on the emptied table is fast ({listing_ms:.1f} ms < 10 ms)")
    report(median < MEDIAN_BOUND_MS and p99 < LATENCY_BOUND_MS and failed == 0,
           f"polling /v1/services does not delay DNS (median {median:.2f} ms < {MEDIAN_BOUND_MS} ms, "
           f"p99 {p99:.2f} ms < {LATENCY_BOUND_MS} ms)")
