"""TLS against the connection limits (part of tls_interop.py): slow handshakes fill the connection
cap and are closed at the handshake deadline, a full-handshake flood runs beside them, and through
it all a client on an established keep-alive connection keeps getting fast answers while the
server's memory stays bounded."""
import multiprocessing, os, select, signal, socket, ssl, statistics, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import rss_kib  # noqa: E402

CAP = 64
HANDSHAKE_SECONDS = 2


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def plain_http_gets_clean_close(port):
    """Plain HTTP to a TLS port: True when the server ends the connection with an orderly EOF (no
    reset) and sends no HTTP."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: beacon\r\n\r\n")
        try:
            data = sock.recv(4096)
            while data and not data.startswith(b"HTTP"):
                more = sock.recv(4096)  # an alert record, then EOF
                if not more:
                    return True
                data += more
            return data == b""
        except (ConnectionResetError, socket.timeout):
            return False


class Probe:
    """Another client: one established keep-alive HTTPS connection asking GET /healthz every 20 ms."""

    def __init__(self, port, context):
        self.latencies, self.errors = [], []
        self.running = True
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            started = time.perf_counter()
            try:
                self.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: beacon\r\n\r\n")
                reply = b""
                # The body is {"status":"ok",...}: complete once its closing brace has arrived.
                while not (b'"status":"ok"' in reply and reply.endswith(b"}")):
                    chunk = self.sock.recv(4096)
                    if not chunk:
                        raise ConnectionError("closed")
                    reply += chunk
                self.latencies.append(time.perf_counter() - started)
            except OSError as error:
                self.errors.append(str(error))
                return
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()

    def summary(self):
        ordered = sorted(self.latencies) or [float("nan")]
        return (len(ordered), statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000,
                ordered[-1] * 1000)


def slow_handshakes(port, count):
    """Opens `count` connections that each send five bytes of a TLS record header promising 512 bytes,
    then nothing. Returns the seconds after which the server closed each (None: still open at 8 s)."""
    sockets = []
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            sock.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00]))
            sock.setblocking(False)
            sockets.append(sock)
        except OSError:
            continue
    started = time.time()
    closed = {}
    while len(closed) < len(sockets) and time.time() - started < 8:
        ready, _, _ = select.select([s for s in sockets if s.fileno() not in closed], [], [], 0.1)
        for sock in ready:
            try:
                if sock.recv(4096) == b"":
                    closed[sock.fileno()] = time.time() - started
            except OSError:
                closed[sock.fileno()] = time.time() - started
    result = [closed.get(sock.fileno()) for sock in sockets]
    for sock in sockets:
        sock.close()
    return result


def flood_worker(port, cafile, seconds, results):
    """Full handshakes, one request each, as fast as one process goes."""
    context = ssl.create_default_context(cafile=cafile)
    done = failed = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                    while sock.recv(4096):
                        pass
            done += 1
        except OSError:
            failed += 1
    results.put((done, failed))


def idle_connections(report, procs, binary, certs, Beacon, count=800):
    """What an established, idle TLS keep-alive connection costs the server in memory."""
    beacon = Beacon(procs, "idle", binary, certs, [
        "--tls-cert", f"{certs}/server.pem", "--tls-key", f"{certs}/server.key", "--http-threads", "1",
        "--log-level", "warning"])
    beacon.wait_up()
    context = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    pid = beacon.process.pid
    held = []
    try:
        warm = context.wrap_socket(socket.create_connection(("127.0.0.1", beacon.port), timeout=5), server_hostname="127.0.0.1")
        held.append(warm)
        before = rss_kib(pid)
        for _ in range(count):
            sock = context.wrap_socket(socket.create_connection(("127.0.0.1", beacon.port), timeout=5),
                                       server_hostname="127.0.0.1")
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n")
            sock.recv(4096)
            held.append(sock)
        time.sleep(0.5)
        per_connection = (rss_kib(pid) - before) / count
        report.check(per_connection < 48, f"{count} idle TLS keep-alive connections: {per_connection:.1f} KiB each "
                     "in the server (buffers released while idle; bound 48)")
    finally:
        for sock in held:
            sock.close()
        procs.signal("idle", signal.SIGTERM)


def run(report, procs, binary, certs, Beacon):
    beacon = Beacon(procs, "limits", binary, certs, [
        "--tls-cert", f"{certs}/server.pem", "--tls-key", f"{certs}/server.key", "--max-http-connections", str(CAP),
        "--http-threads", "1", "--http-request-timeout", str(HANDSHAKE_SECONDS), "--log-level", "warning"])
    report.check(beacon.wait_up(), f"beacon with --max-http-connections {CAP} --http-request-timeout {HANDSHAKE_SECONDS}")
    pid = beacon.process.pid
    context = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    probe = Probe(beacon.port, context)
    time.sleep(0.5)
    rss_before = rss_kib(pid)

    # Slow handshakes: twice the cap, beside a flood of full handshakes from two processes.
    results = multiprocessing.Queue()
    flood = [multiprocessing.Process(target=flood_worker, args=(beacon.port, f"{certs}/ca.pem", 6, results))
             for _ in range(2)]
    for worker in flood:
        worker.start()
    closed = slow_handshakes(beacon.port, 2 * CAP)
    held = [seconds for seconds in closed if seconds is not None and seconds > 1]
    report.check(all(seconds is not None and seconds < HANDSHAKE_SECONDS + 1.5 for seconds in closed),
                 f"{len(closed)} slow handshakes all closed by the server within {HANDSHAKE_SECONDS + 1.5} s",
                 f"latest {max((s for s in closed if s is not None), default=None)}, open {closed.count(None)}")
    report.check(0 < len(held) <= CAP,
                 f"at most the cap ({CAP}) were held until the handshake deadline, the rest refused at once: {len(held)} held")
    flood_done = flood_failed = 0
    for worker in flood:
        worker.join(timeout=15)
        done, failed = results.get(timeout=5)
        flood_done += done
        flood_failed += failed
    rss_after = rss_kib(pid)
    report.check(flood_done > 100, f"handshake flood beside them: {flood_done} full handshakes in 6 s "
                 f"({flood_done / 6:.0f}/s), {flood_failed} refused while the cap was full")
    growth = (rss_after - rss_before) / 1024
    report.check(growth < 32, f"server memory through it all: {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB "
                 f"(+{growth:.1f} MiB, bound 32)")
    probe.stop()
    count, p50, p99, worst = probe.summary()
    report.check(not probe.errors and count > 100 and p99 < 250,
                 f"the established client meanwhile: {count} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                 f"max {worst:.1f} ms (bound p99 < 250 ms), no error", "; ".join(probe.errors[:3]))
    timed_out = beacon.metric("beacon_http_connections_timed_out_total", identity=None)
    rejected = beacon.metric("beacon_http_connections_rejected_total", identity=None)
    report.check((timed_out or 0) >= len(held) and (rejected or 0) > 0,
                 f"/metrics counted them: {timed_out:.0f} timed out, {rejected:.0f} rejected at the cap")
    status, code, _, _ = beacon.curl("/healthz", identity=None)
    report.check(code == 200, "a new client is served once the slow handshakes are gone")
