"""Small helpers shared by the Python test scripts: free loopback ports, one HTTP request, one DNS
A query, paced latency probes. Standard library only; scripts add this folder to sys.path."""
import json, os, random, socket, struct, time


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (Beacon binds DNS on both): one TCP picked
    that UDP can also bind, else another."""
    while True:
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def cpu_seconds(pid):
    """utime + stime of a process and its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    """Resident memory of a process in KiB (0 when /proc has no VmRSS line for it)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def http(port, method, path, body=None, timeout=15):
    """(status, parsed JSON or raw text) of one request on its own connection."""
    data = b"" if body is None else json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {len(data)}\r\n\r\n"
                     .encode() + data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload.decode(errors="replace")


def wait_healthy(port, seconds=10):
    """Whether GET /healthz on `port` answers 200 within `seconds` (a server just started)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if http(port, "GET", "/healthz", timeout=2)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def dns_a(port, name, timeout=3):
    """(rcode, sorted addresses) of an A query over UDP."""
    query = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        query += bytes([len(label)]) + label.encode()
    query += b"\x00" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(query, ("127.0.0.1", port))
        reply, _ = sock.recvfrom(65535)
    rcode = reply[3] & 0x0F
    answers = struct.unpack(">H", reply[6:8])[0]
    offset = len(query)
    addresses = []
    for _ in range(answers):
        while reply[offset] != 0 and reply[offset] & 0xC0 != 0xC0:
            offset += reply[offset] + 1
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else 1
        rtype, _, _, length = struct.unpack(">HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1:
            addresses.append(socket.inet_ntoa(reply[offset:offset + 4]))
        offset += length
    return rcode, sorted(addresses)


def paced_latencies(ask, interval, keep_going):
    """Latencies in ms of `ask()` (True when answered, False when not: recorded as None), one client
    due every `interval` while `keep_going()`. Corrected for coordinated omission: a slow answer also
    counts, for each client that fell due while it was awaited, the time that client would have
    waited (else a one-second stall would be one sample among hundreds)."""
    latencies = []
    due = time.perf_counter()
    while keep_going():
        due = max(due, time.perf_counter() - interval)
        sent = time.perf_counter()
        ok = ask()
        done = time.perf_counter()
        if not ok:
            latencies.append(None)
        while ok and due <= done:
            latencies.append((done - max(due, sent)) * 1000)
            due += interval
        time.sleep(max(0.0, due - time.perf_counter()))
    return latencies


def for_seconds(seconds):
    """A `keep_going` for `paced_latencies` that stops after `seconds`."""
    end = time.perf_counter() + seconds
    return lambda: time.perf_counter() < end
