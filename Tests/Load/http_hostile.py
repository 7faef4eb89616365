"""Hostile HTTP clients for abuse.py (issue 14, HTTP side), each bounded in time and asserting its bound.

Every scenario takes the HTTP port, the server's PID (for its RSS) and abuse.py's `report`, prints one
`# ...` line with its figure, and reports pass or fail.
"""
import multiprocessing, os, select, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import paced_latencies, rss_kib

MIB = 1 << 20
RSS_BOUND_MIB = 16
LATENCY_BOUND_MS = 100
# A watch holding the function's current index stays parked for its whole wait (an index above the
# table's own is answered at once: it can only come from before a restart).
WATCH = "GET /v1/services/pay/charge?index={index}&wait={wait} HTTP/1.1\r\nHost: t\r\n\r\n"


def watch(port, wait):
    """The bytes of a watch on pay/charge that stays parked for `wait`."""
    import json
    index = json.loads(request(port, "GET", "/v1/services/pay/charge")[1])["index"]
    return WATCH.format(index=index, wait=wait).encode()
RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset, as a crashed client does


def rss_mib(pid):
    kib = rss_kib(pid)
    return kib / 1024 if kib else float("nan")


def request(port, method, path, body=b"", timeout=3):
    """(status, body) of one request on its own connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def watches_waiting(port):
    for line in request(port, "GET", "/metrics")[1].decode().splitlines():
        if line.startswith("beacon_http_watches_waiting "):
            return int(line.split()[1])
    return None


def wait_for_gauge(port, expected, seconds):
    deadline = time.time() + seconds
    value = watches_waiting(port)
    while value != expected and time.time() < deadline:
        time.sleep(0.05)
        value = watches_waiting(port)
    return value


def reset_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    sock.close()


def junk_behind_watch(port, pid, report, total=200 * MIB, seconds=4):
    """A parked watch followed by up to 200 MiB of junk on the same connection, sent as fast as taken."""
    before = rss_mib(pid)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(watch(port, "600s"))
    s.setblocking(False)
    chunk = b"x" * MIB
    sent, started, ended_by = 0, time.time(), "time limit"
    while sent < total and time.time() - started < seconds:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            select.select([], [s], [], 0.05)
        except OSError:
            ended_by = "server closed the connection"
            break
    if sent >= total:
        ended_by = "all sent"
    time.sleep(0.3)
    growth = rss_mib(pid) - before
    reset_close(s)
    print(f"# junk behind a parked watch: {sent / MIB:.0f} MiB taken in {time.time() - started:.1f} s ({ended_by}); "
          f"server RSS {growth:+.1f} MiB")
    report(growth < RSS_BOUND_MIB, f"junk behind a parked watch grows RSS by less than {RSS_BOUND_MIB} MiB ({growth:+.1f})")


def pipelined_unread(port, pid, report, count=8000):
    """8,000 pipelined `GET /` (the 32 KB status page) whose responses are never read."""
    before = rss_mib(pid)
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * count)
        taken = "all sent"
    except socket.timeout:
        taken = "the server stopped reading"
    time.sleep(1)
    growth = rss_mib(pid) - before
    reset_close(s)
    print(f"# {count:,} pipelined GET / with unread responses ({taken}): server RSS {growth:+.1f} MiB")
    report(growth < RSS_BOUND_MIB, f"pipelined requests with unread responses grow RSS by less than {RSS_BOUND_MIB} MiB ({growth:+.1f})")


def watches_after_resets(port, report, count=2000):
    """2,000 parked watches whose clients reset: the gauge must come back to 0."""
    clients = []
    parked_watch = watch(port, "600s")
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(parked_watch)
        clients.append(s)
    parked = wait_for_gauge(port, count, 5)
    for s in clients:
        reset_close(s)
    left = wait_for_gauge(port, 0, 3)
    print(f"# {count:,} watches parked ({parked} counted), clients reset: beacon_http_watches_waiting {left} after it")
    report(parked == count and left == 0, f"watches leave with their reset clients (gauge {parked} -> {left})")


def probe_healthz(port, stop, interval=0.01):
    """/healthz latencies in ms until `stop` is set, one new connection each (so every HTTP loop is
    sampled), paced (see `paced_latencies`); None for a failure."""
    def ask():
        try:
            return request(port, "GET", "/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    return paced_latencies(ask, interval, lambda: not stop.is_set())


def reset_watches_expiring(port, report, count=100000, wait_seconds=4, send_limit=15):
    """Many watches whose clients reset at once, sent for at most `send_limit` s, then left to expire,
    while another process times /healthz throughout."""
    with multiprocessing.Manager() as manager, multiprocessing.Pool(1) as pool:
        stop = manager.Event()
        probe = pool.apply_async(probe_healthz, (port, stop))
        time.sleep(0.2)
        started = time.time()
        request_bytes = watch(port, f"{wait_seconds}s")
        sent = 0
        while sent < count and time.time() - started < send_limit:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(request_bytes)
                reset_close(s)
                sent += 1
            except OSError:
                time.sleep(0.01)
        sending = time.time() - started
        # Every watch's wait ends within this (and, before the fix, its expiry ran then).
        time.sleep(wait_seconds + 1.5)
        stop.set()
        latencies = probe.get(timeout=30)
    answered = sorted(l for l in latencies if l is not None)
    failed = len(latencies) - len(answered)
    p99 = answered[min(len(answered) - 1, int(len(answered) * 0.99))] if answered else float("inf")
    worst = answered[-1] if answered else float("inf")
    left = watches_waiting(port)
    print(f"# {sent:,} watches (wait {wait_seconds} s) sent and reset in {sending:.1f} s, then left to expire: "
          f"/healthz p99 {p99:.1f} ms, worst {worst:.1f} ms, {failed} failed of {len(latencies)}; gauge {left}")
    report(p99 < LATENCY_BOUND_MS and failed == 0,
           f"reset watches expiring do not stall /healthz (p99 {p99:.1f} ms < {LATENCY_BOUND_MS} ms)")


def oversize_status(port, report, body_mib=8):
    """A client sending 8 MiB after a head the server refuses, reading only once it has sent everything
    (as Python's http.client and curl do): it must see the 413 or 431, not a reset."""
    heads = {413: b"POST /v1/register HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (body_mib * MIB),
             431: b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: "}
    outcomes = {}
    for status, head in heads.items():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                s.sendall(head + b"a" * (body_mib * MIB))
                line = s.recv(4096).split(b"\r\n")[0].decode()
            except OSError as error:
                line = f"{type(error).__name__} while sending"
        outcomes[status] = line
    print(f"# oversize requests with {body_mib} MiB still being sent: " + "; ".join(f"{k}: {v}" for k, v in outcomes.items()))
    report(all(line.startswith(f"HTTP/1.1 {status}") for status, line in outcomes.items()),
           "a 413 and a 431 reach a client that is still sending")


def routing_and_numbers(port, report):
    """`%2F` is no path separator, and body numbers are integers as written."""
    body = b'{"service":"hostile","function":"f","address":"10.1.1.1","port":80,"id":"web-1","ttl":600}'
    registered = request(port, "POST", "/v1/register", body)[0]
    escaped = request(port, "POST", "/v1/instances/web-1%2Fheartbeat")[0]
    numbers = [request(port, "POST", "/v1/register", body.replace(b'"port":80', b'"port":' + n)) for n in (b"1e2", b"100.0")]
    print(f"# POST /v1/instances/web-1%2Fheartbeat: {escaped}; \"port\":1e2 and 100.0: "
          + ", ".join(f"{s} {p.decode()}" for s, p in numbers))
    report(registered == 200 and escaped != 200, "an escaped / does not route to a heartbeat")
    report(all(s == 400 and p.startswith(b'{"error":"port') for s, p in numbers), "1e2 and 100.0 are a 400 naming port")
