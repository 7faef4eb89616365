"""Hostile DNS clients for abuse.py (issue 14, items 5 to 9), each bounded in time and asserting its
bound. Each scenario starts its own Beacon with the flags it needs (stopped by PID), prints one
`# ...` line with its figure and reports pass or fail.
"""
import multiprocessing, os, select, signal, socket, struct, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import for_seconds, free_port, paced_latencies, wait_healthy
from http_hostile import LATENCY_BOUND_MS, RSS_BOUND_MIB, request, rss_mib
from table_hostile import percentiles, pipeline, register_request


class Beacon:
    """A Beacon serving in memory on free loopback ports, for one scenario."""

    def __init__(self, binary, *flags):
        self.dns, self.http = free_port(), free_port()
        self.process = subprocess.Popen([binary, "serve", "--in-memory", "--dns", f"127.0.0.1:{self.dns}", "--http",
                                         f"127.0.0.1:{self.http}", "--log-level", "error", *flags])
        if not wait_healthy(self.http):
            raise SystemExit("beacon did not start")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def pid(self):
        return self.process.pid

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def register(self, function, count, service="load"):
        """Registers `count` instances of function.service (TTL 600), pipelined; returns how many took."""
        def requests():
            for index in range(count):
                yield register_request((f'{{"service":"{service}","function":"{function}","id":"{function}-{index}",'
                                        f'"address":"10.{index // 62500}.{index // 250 % 250}.{index % 250 + 1}",'
                                        f'"port":{8000 + index % 1000},"ttl":600}}').encode())
        return pipeline(self.http, requests(), 30)[2]


def query(name, qtype, qid, edns=None):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    additional = 1 if edns else 0
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, additional) + wire + struct.pack(">HH", qtype, 1)
    if edns:
        packet += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return packet


SRV, A = 33, 1


def header(reply):
    """(id, flags, answer count) of a reply."""
    qid, flags, _, ancount = struct.unpack(">HHHH", reply[:8])
    return qid, flags, ancount


def udp_flood(port, name, qtype, seconds, sockets=4, rate=500, source="127.0.0.1"):
    """Sends `rate` queries a second (with EDNS 1232, as resolvers do) spread over `sockets` source
    ports, for `seconds`; replies are read and thrown away. Returns how many were sent."""
    socks = []
    for _ in range(sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        s.setblocking(False)
        socks.append(s)
    sent = 0
    started = time.time()
    while time.time() - started < seconds:
        due = int((time.time() - started) * rate)
        while sent < due:
            try:
                socks[sent % sockets].sendto(query(name, qtype, sent & 0xFFFF, edns=1232), ("127.0.0.1", port))
            except BlockingIOError:
                pass
            sent += 1
        for s in socks:
            try:
                while s.recv(65535):
                    pass
            except BlockingIOError:
                pass
        time.sleep(0.002)
    return sent


def probe_udp(port, name, seconds, source="127.0.0.1", interval=0.01):
    """UDP query latencies in ms for `seconds`, paced (see `paced_latencies`); None for a query
    unanswered within 1 s."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.settimeout(1)
    qid = 0

    def ask():
        nonlocal qid
        qid = (qid + 1) & 0xFFFF
        sock.sendto(query(name, A, qid), ("127.0.0.1", port))
        try:
            while struct.unpack(">H", sock.recv(65535)[:2])[0] != qid:
                pass
            return True
        except socket.timeout:
            return False

    return paced_latencies(ask, interval, for_seconds(seconds))


def tcp_exchange(port, packet, timeout=2):
    """One framed query on a new connection: the reply, or None (refused, closed or timed out)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack(">H", len(packet)) + packet)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
            return data[2:]
    except OSError:
        return None


def probe_tcp(port, name, seconds, interval=0.02):
    """TCP query latencies in ms (one connection each) for `seconds`, paced; None for a failed query."""
    qid = 0

    def ask():
        nonlocal qid
        qid = (qid + 1) & 0xFFFF
        reply = tcp_exchange(port, query(name, A, qid))
        return reply is not None and reply[:2] == struct.pack(">H", qid)

    return paced_latencies(ask, interval, for_seconds(seconds))


def summary(latencies):
    median, p99, failed = percentiles(latencies)
    return f"median {median:.2f} ms, p99 {p99:.2f} ms, {failed} failed of {len(latencies)}", p99, failed


# MARK: - Scenarios

def large_function_flood(binary, report, seconds=5):
    """Item 5: SRV for a 3,000-instance function at 500 qps from 4 ports (without and with --rrl
    200), while another client (another /24, within its rate) times A queries for a small function
    at 100 a second. Before, at 10 ms of CPU each, 100 qps of them starved every other query."""
    for flags in ([], ["--rrl", "200"]):
        with Beacon(binary, *flags) as beacon:
            beacon.register("big", 3000)
            beacon.register("small", 3)
            with multiprocessing.Pool(2) as pool:
                flood = pool.apply_async(udp_flood, (beacon.dns, "big.load.local", SRV, seconds))
                probe = pool.apply_async(probe_udp, (beacon.dns, "small.load.local", seconds, "127.0.1.1"))
                cpu_before = beacon.cpu_seconds()
                sent = flood.get(timeout=seconds + 30)
                latencies = probe.get(timeout=seconds + 30)
                cpu = beacon.cpu_seconds() - cpu_before
            text, p99, failed = summary(latencies)
            name = "with --rrl 200" if flags else "without --rrl"
            print(f"# {sent:,} SRV queries for a 3,000-instance function in {seconds} s {name}: server CPU "
                  f"{cpu:.2f} s ({cpu * 1e6 / max(sent, 1):.0f} us per flood query); small function beside it: {text}")
            report(p99 < LATENCY_BOUND_MS and failed == 0,
                   f"a large-function flood {name} does not delay other queries (p99 {p99:.1f} ms < {LATENCY_BOUND_MS} ms)")


def large_answer_over_tcp(binary, report):
    """Item 6: a 2,000-instance SRV answer over TCP carries the records that fit in 64 KiB."""
    with Beacon(binary) as beacon:
        beacon.register("big", 2000)
        reply = tcp_exchange(beacon.dns, query("big.load.local", SRV, 7)) or b""
        _, flags, answers = header(reply) if len(reply) >= 12 else (0, 0, 0)
        print(f"# 2,000-instance SRV over TCP: {len(reply):,} bytes, {answers:,} records, TC {bool(flags & 0x0200)}")
        report(answers > 1000 and len(reply) <= 65535,
               f"an answer past 64 KiB over TCP carries the records that fit ({answers} records)")


def unread_tcp_answers(binary, report, queries=2000, seconds=3):
    """Item 7: 2,000 framed SRV queries for a 1,000-instance function on one connection that never
    reads: RSS growth, and other TCP clients' latency meanwhile."""
    with Beacon(binary) as beacon:
        beacon.register("big", 1000)
        before = rss_mib(beacon.pid)
        flood = socket.create_connection(("127.0.0.1", beacon.dns))
        flood.setblocking(False)
        payload = b"".join(struct.pack(">H", len(q)) + q for q in (query("big.load.local", SRV, i) for i in range(queries)))
        with multiprocessing.Pool(1) as pool:
            probe = pool.apply_async(probe_tcp, (beacon.dns, "small.load.local", seconds))
            started = time.time()
            while payload and time.time() - started < seconds:
                try:
                    payload = payload[flood.send(payload):]
                except BlockingIOError:
                    select.select([], [flood], [], 0.05)
            latencies = probe.get(timeout=seconds + 30)
        growth = rss_mib(beacon.pid) - before
        flood.close()
        text, p99, failed = summary(latencies)
        print(f"# {queries:,} pipelined SRV queries for a 1,000-instance function, answers never read: server RSS "
              f"{growth:+.1f} MiB; other TCP clients meanwhile: {text}")
        report(growth < RSS_BOUND_MIB, f"unread TCP answers grow RSS by less than {RSS_BOUND_MIB} MiB ({growth:+.1f})")
        report(p99 < LATENCY_BOUND_MS and failed == 0,
               f"one pipelining TCP connection does not hold up the others (p99 {p99:.1f} ms < {LATENCY_BOUND_MS} ms)")


def tcp_slow_loris(binary, report, connections=20, seconds=8):
    """Item 8: with --max-tcp-connections 20, 20 sockets trickling one byte every 7 s (reconnecting
    when closed) while another client sends real TCP queries."""
    with Beacon(binary, "--max-tcp-connections", str(connections), "--udp-threads", "1") as beacon:
        beacon.register("small", 3)
        loris, last_byte = [], []

        def connect():
            s = socket.create_connection(("127.0.0.1", beacon.dns))
            s.setblocking(False)
            s.send(b"\x00")
            return s

        for _ in range(connections):
            loris.append(connect())
            last_byte.append(time.time())
        time.sleep(0.3)
        with multiprocessing.Pool(1) as pool:
            probe = pool.apply_async(probe_tcp, (beacon.dns, "small.load.local", seconds))
            started = time.time()
            reconnects = 0
            while time.time() - started < seconds:
                for index, s in enumerate(loris):
                    closed = False
                    try:
                        closed = s.recv(1) == b""
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed = True
                    if closed:
                        s.close()
                        loris[index] = connect()
                        last_byte[index] = time.time()
                        reconnects += 1
                    elif time.time() - last_byte[index] > 7:
                        try:
                            s.send(b"\x30")
                        except OSError:
                            pass
                        last_byte[index] = time.time()
                time.sleep(0.05)
            latencies = probe.get(timeout=seconds + 30)
        for s in loris:
            s.close()
        text, p99, failed = summary(latencies)
        print(f"# {connections} slow-loris TCP connections at --max-tcp-connections {connections} "
              f"({reconnects} reconnects in {seconds} s): real TCP queries {text}")
        report(p99 < LATENCY_BOUND_MS and failed == 0,
               f"slow-loris TCP connections do not keep real queries out (p99 {p99:.1f} ms, {failed} failed)")


def rrl_across_threads(binary, report, seconds=2, ports=64):
    """Item 9: --rrl 10 --udp-threads 4, one /24 sending from 64 ports for 2 s: full answers counted."""
    with Beacon(binary, "--rrl", "10", "--udp-threads", "4") as beacon:
        socks = []
        for _ in range(ports):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            socks.append(s)
        full = slipped = sent = 0
        started = time.time()
        while time.time() - started < seconds:
            for s in socks:
                s.sendto(query("local", 6, sent & 0xFFFF), ("127.0.0.1", beacon.dns))
                sent += 1
            time.sleep(0.01)
            for s in socks:
                try:
                    while True:
                        flags = header(s.recv(4096))[1]
                        full += not flags & 0x0200
                        slipped += bool(flags & 0x0200)
                except BlockingIOError:
                    pass
        for s in socks:
            s.close()
        bound = 10 * (seconds + 2)  # the sending may touch seconds + 2 whole seconds
        print(f"# --rrl 10 --udp-threads 4, one /24 from {ports} ports for {seconds} s: {sent:,} queries, {full} full "
              f"answers, {slipped} slipped")
        report(full <= bound, f"--rrl holds one /24 to its rate across UDP threads ({full} full answers <= {bound})")
