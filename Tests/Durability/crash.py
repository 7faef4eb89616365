#!/usr/bin/env python3
"""Crash test for the journal (issue 3): clients register and deregister at full speed, the server is
killed with SIGKILL at a random moment, restarted on the same --data, and every acknowledged
operation must be reflected. 20 rounds by default. A tiny --journal-compact-bytes makes compactions
frequent, so kills also land during compaction.

Leases too (issue 13): each round also registers short leases (TTL 1 s) that are never renewed and
heartbeats a few instances with a TTL of 2 s. After every restart, nothing whose lease had ended
before the kill may be back, and every heartbeated instance with more than 1.3 s of lease left at
the kill must be.

Each client thread owns its own ids, so every id has one sequential history: all of it acknowledged
except at most its last operation, which was in flight at the kill and may or may not have landed.

Usage: crash.py [--beacon .build/release/beacon] [--rounds 20] [--clients 8]
"""
import argparse, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import free_port  # noqa: E402


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def call(self, method, path, body=b""):
        self.sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: c\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buffer = rest[length:]
        return int(head.split()[1]), rest[:length]


def start(beacon, data, dns, http, log):
    process = subprocess.Popen([beacon, "serve", "--data", data, "--dns", f"127.0.0.1:{dns}", "--http", f"127.0.0.1:{http}",
                                "--journal-compact-bytes", "16384", "--log-level", "info"], stderr=log)
    started = time.time()
    while True:
        try:
            if Connection(http).call("GET", "/healthz")[0] == 200:
                return process, time.time() - started
        except OSError:
            pass
        if process.poll() is not None or time.time() - started > 60:
            raise SystemExit("beacon did not start")
        time.sleep(0.01)


def client(http, ids, history, stop, rng):
    """Registers or deregisters random ids of its own until told to stop or the server dies."""
    try:
        connection = Connection(http)
        while not stop.is_set():
            ident = rng.choice(ids)
            register = rng.random() < 0.6
            entry = {"op": "register" if register else "deregister", "acked": False}
            history[ident].append(entry)
            if register:
                body = json.dumps({"service": "crash", "function": f"f{int(ident[1:]) % 10}", "id": ident,
                                   "address": "10.0.0.1", "port": 1000 + int(ident[1:]), "ttl": 3600}).encode()
                status, _ = connection.call("POST", "/v1/register", body)
                if status == 200:
                    entry["acked"] = True
                else:
                    history[ident].pop()  # refused: no effect
            else:
                status, _ = connection.call("DELETE", f"/v1/instances/{ident}")
                if status in (200, 404):
                    entry["acked"] = True  # 404: it was not there; either way it is not there now
                else:
                    history[ident].pop()
    except (OSError, ConnectionError, ValueError, IndexError):
        return  # the server died: the op in flight stays unacknowledged


def leases(http, round_index, stop, record):
    """Short leases that end on their own, and a few heartbeated ones, with acknowledgement times."""
    try:
        connection = Connection(http)
        beating = [f"h{round_index}-{k}" for k in range(5)]
        for ident in beating:
            body = json.dumps({"service": "lease", "function": "beat", "id": ident, "address": "10.0.0.2",
                               "port": 1, "ttl": 2}).encode()
            if connection.call("POST", "/v1/register", body)[0] == 200:
                record["beat"][ident] = time.time()
        serial = 0
        last_beat = 0.0
        while not stop.is_set():
            ident = f"e{round_index}-{serial}"
            serial += 1
            body = json.dumps({"service": "lease", "function": "short", "id": ident, "address": "10.0.0.3",
                               "port": 1, "ttl": 1}).encode()
            if connection.call("POST", "/v1/register", body)[0] == 200:
                record["short"][ident] = time.time()
            if time.time() - last_beat >= 0.3:
                last_beat = time.time()
                for ident in beating:
                    if connection.call("POST", f"/v1/instances/{ident}/heartbeat")[0] == 200:
                        record["beat"][ident] = time.time()
            time.sleep(0.02)
    except (OSError, ConnectionError, ValueError, IndexError):
        return


def check_leases(http, record, killed_at):
    """What came back that had ended, and what was missing that had over 1.3 s left."""
    checker = Connection(http)
    back = [i for i, acked in record["short"].items() if acked + 1 < killed_at and checker.call("GET", f"/v1/instances/{i}")[0] == 200]
    missing = [i for i, acked in record["beat"].items()
               if acked + 2 >= killed_at + 1.3 and checker.call("GET", f"/v1/instances/{i}")[0] != 200]
    ended = sum(1 for acked in record["short"].values() if acked + 1 < killed_at)
    return back, missing, ended


def expected_states(history):
    """For each id: the set of states (present True/False) a correct server may show."""
    result = {}
    for ident, entries in history.items():
        state = False
        for entry in entries:
            if entry["acked"]:
                state = entry["op"] == "register"
        allowed = {state}
        if entries and not entries[-1]["acked"]:
            allowed.add(entries[-1]["op"] == "register")
        result[ident] = allowed
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="beacon-crash-")
    data = os.path.join(work, "data")
    dns, http = free_port(), free_port()
    ids = [f"i{n}" for n in range(400)]
    history = {ident: [] for ident in ids}
    log = open(os.path.join(work, "beacon.log"), "w")
    failures = 0
    acknowledged = 0
    recoveries = []
    process = None
    lease_record = None
    killed_at = None
    ended_checked = 0
    print(f"# seed {args.seed}, data in {data}")
    try:
        for round_index in range(args.rounds + 1):
            process, startup = start(args.beacon, data, dns, http, log)
            recoveries.append(startup)
            # Verify everything acknowledged so far.
            checker = Connection(http)
            wrong = []
            for ident, allowed in expected_states(history).items():
                status, _ = checker.call("GET", f"/v1/instances/{ident}")
                present = status == 200
                if present not in allowed:
                    wrong.append((ident, present, history[ident][-3:]))
            # Resolve in-doubt operations to what the server shows, so later rounds judge from there.
            for ident, entries in history.items():
                if entries and not entries[-1]["acked"]:
                    status, _ = checker.call("GET", f"/v1/instances/{ident}")
                    entries[-1]["acked"] = (status == 200) == (entries[-1]["op"] == "register")
                    if not entries[-1]["acked"]:
                        entries.pop()
            acked_now = sum(1 for entries in history.values() for e in entries if e["acked"])
            if lease_record is not None:
                back, missing, ended = check_leases(http, lease_record, killed_at)
                ended_checked += ended
                if back or missing:
                    failures += 1
                    print(f"not ok - round {round_index}: {len(back)} ended leases came back (e.g. {back[:3]}), "
                          f"{len(missing)} live heartbeated instances are missing (e.g. {missing[:3]})")
                else:
                    print(f"ok - round {round_index}: none of {ended} leases that ended before the kill came back; "
                          f"every heartbeated instance is there")
            if wrong:
                failures += 1
                print(f"not ok - round {round_index}: {len(wrong)} ids disagree with acknowledged operations, e.g. {wrong[:3]}")
            else:
                print(f"ok - round {round_index}: recovered in {startup:.2f} s; all {acked_now - acknowledged} operations "
                      f"acknowledged since the last kill ({acked_now} in all) are reflected")
            acknowledged = acked_now
            if round_index == args.rounds:
                break
            stop = threading.Event()
            threads = []
            per_client = len(ids) // args.clients
            for n in range(args.clients):
                own = ids[n * per_client:(n + 1) * per_client]
                thread = threading.Thread(target=client, args=(http, own, history, stop, random.Random(rng.random())))
                thread.start()
                threads.append(thread)
            lease_record = {"short": {}, "beat": {}}
            lease_thread = threading.Thread(target=leases, args=(http, round_index, stop, lease_record))
            lease_thread.start()
            threads.append(lease_thread)
            time.sleep(rng.uniform(1.2, 2.5))
            killed_at = time.time()
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
            for thread in threads:
                thread.join()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        process = None
        log.close()
        text = open(os.path.join(work, "beacon.log")).read()
        compactions = text.count("compaction") + text.count("snapshot")
        torn = text.count("torn tail")
        print(f"# {ended_checked} ended leases checked not to come back")
        print(f"# {args.rounds} kills; {acknowledged} acknowledged operations checked; recovery "
              f"{min(recoveries):.2f}-{max(recoveries):.2f} s; log lines about snapshots/compaction: {compactions}; "
              f"torn tails cut: {torn}")
    finally:
        if process and process.poll() is None:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
