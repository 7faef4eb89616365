"""Helpers for Beacon's multi-node tests: an etcd cluster and Beacon nodes on loopback, a tiny DNS
client and HTTP calls. Standard library only; installs nothing. Every process is tracked by PID
(and its PID appended to $CLUSTER_PIDS when set, so the calling shell's trap can stop it too)."""
import json, os, random, signal, socket, struct, subprocess, sys, time, urllib.error, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import free_port  # noqa: E402


class Report:
    """`ok N - ...` / `not ok N - ...` lines with the seconds since the start; counts the failures."""

    def __init__(self):
        self.count = 0
        self.failed = 0
        self.started = time.time()

    def check(self, condition, text, detail=""):
        self.count += 1
        stamp = f"[{time.time() - self.started:5.1f}s]"
        if condition:
            print(f"ok {self.count} - {text} {stamp}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.count} - {text} {stamp}" + (f"\n  # {detail}" if detail else ""), flush=True)
        return condition


class Processes:
    """Started processes by name; stopped by PID."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = {}
        self.pid_file = os.environ.get("CLUSTER_PIDS")

    def start(self, name, argv):
        log = open(os.path.join(self.workdir, f"{name}.log"), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs[name] = proc
        if self.pid_file:
            with open(self.pid_file, "a") as f:
                f.write(f"{proc.pid}\n")
        return proc

    def signal(self, name, sig):
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()

    def running(self, name):
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def stop_all(self):
        for name in list(self.procs):
            self.signal(name, signal.SIGTERM)

    def log_tail(self, name, lines=15):
        try:
            with open(os.path.join(self.workdir, f"{name}.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


# MARK: - HTTP


def http(method, url, body=None, timeout=8):
    """(status, parsed JSON or text). Never raises for HTTP errors; (0, reason) for connection errors."""
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# MARK: - DNS


def dns_query(port, name, qtype=1, timeout=1.0):
    """A records (or the RDATA of `qtype`) at `name` from 127.0.0.1:port: (rcode, [(text, ttl)])."""
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\x00" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, ("127.0.0.1", port))
        while True:
            reply, _ = sock.recvfrom(4096)
            if len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid:
                break
    flags, qd, an = struct.unpack(">HHH", reply[2:8])
    offset = 12
    for _ in range(qd):
        offset = _skip_name(reply, offset) + 4
    records = []
    for _ in range(an):
        offset = _skip_name(reply, offset)
        rtype, _, ttl, length = struct.unpack(">HHIH", reply[offset : offset + 10])
        offset += 10
        rdata = reply[offset : offset + length]
        offset += length
        if rtype == 1 and length == 4:
            records.append((socket.inet_ntoa(rdata), ttl))
        elif rtype == qtype:
            records.append((rdata.hex(), ttl))
    return flags & 0xF, records


def _skip_name(message, offset):
    while True:
        length = message[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def addresses(port, name):
    """The set of A addresses at `name`, or None when the node does not answer."""
    try:
        _, records = dns_query(port, name)
        return {text for text, _ in records}
    except (OSError, IndexError, struct.error):
        return None


# MARK: - etcd and Beacon


class EtcdCluster:
    def __init__(self, procs, workdir, size=3):
        self.procs = procs
        self.workdir = workdir
        self.members = [(f"e{i + 1}", free_port(), free_port()) for i in range(size)]

    @property
    def client_endpoints(self):
        return [f"127.0.0.1:{client}" for _, client, _ in self.members]

    def start(self, names=None):
        initial = ",".join(f"{name}=http://127.0.0.1:{peer}" for name, _, peer in self.members)
        for name, client, peer in self.members:
            if names is not None and name not in names:
                continue
            self.procs.start(
                name,
                [
                    "etcd", "--name", name, "--data-dir", os.path.join(self.workdir, name),
                    "--listen-client-urls", f"http://127.0.0.1:{client}",
                    "--advertise-client-urls", f"http://127.0.0.1:{client}",
                    "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "beacon-cluster-test",
                ],
            )

    def healthy(self, name):
        client = next(c for n, c, _ in self.members if n == name)
        status, reply = http("GET", f"http://127.0.0.1:{client}/health", timeout=2)
        return status == 200 and isinstance(reply, dict) and reply.get("health") == "true"

    def wait_healthy(self, names=None, timeout=20):
        names = names or [name for name, _, _ in self.members]
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(self.healthy(name) for name in names):
                return True
            time.sleep(0.2)
        return False

    def leader(self):
        """The name of the current leader, or None."""
        ids = {}
        leader = None
        for name, client, _ in self.members:
            status, reply = http("POST", f"http://127.0.0.1:{client}/v3/maintenance/status", {}, timeout=2)
            if status == 200:
                ids[reply["header"]["member_id"]] = name
                leader = reply.get("leader", leader)
        return ids.get(leader)


class BeaconNode:
    def __init__(self, procs, name, binary, endpoints, zones, extra=()):
        self.procs, self.name = procs, name
        self.dns, self.http_port = free_port(), free_port()
        self.argv = [
            binary, "serve", "--store", "etcd://" + ",".join(endpoints), "--in-memory", "--zones", zones,
            "--dns", f"127.0.0.1:{self.dns}", "--http", f"127.0.0.1:{self.http_port}", *extra,
        ]

    def start(self):
        self.procs.start(self.name, self.argv)

    def url(self, path):
        return f"http://127.0.0.1:{self.http_port}{path}"

    def health(self):
        return http("GET", self.url("/healthz"), timeout=3)[0]

    def wait_up(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.health() in (200, 503):
                return True
            time.sleep(0.1)
        return False

    def register(self, **fields):
        return http("POST", self.url("/v1/register"), fields)

    def heartbeat(self, instance):
        return http("POST", self.url(f"/v1/instances/{instance}/heartbeat"))

    def deregister(self, instance):
        return http("DELETE", self.url(f"/v1/instances/{instance}"))

    def resolve(self, name):
        return addresses(self.dns, name)


def wait_until(predicate, timeout, interval=0.05):
    """Polls until `predicate()` is true; returns the seconds it took, or None on timeout."""
    start = time.time()
    while True:
        if predicate():
            return time.time() - start
        if time.time() - start > timeout:
            return None
        time.sleep(interval)
