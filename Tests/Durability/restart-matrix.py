#!/usr/bin/env python3
"""The restart matrix (issue 13): each case stops a release build in a given state, by SIGTERM or
SIGKILL, starts it again on the same --data, and checks exactly which instances are served, over
HTTP and DNS.

  expire-then-stop      a lease that ended before the stop is not back; a live one is
  churn-then-stop       a minute of churn (shortened) ending with nothing live: nothing is back
  limits-full-of-dead   a function at its limit with ended leases, then a live registration: only
                        the live one is back, and the function takes new registrations
  two-servers           a second server on the same --data exits 1 naming the directory and the
                        holder's PID; the first keeps serving and loses nothing
  watch-index           the watch index after a restart is above every index handed out before;
                        with --in-memory, a watcher holding an older run's index is answered at once

Usage: restart-matrix.py [--beacon .build/release/beacon] [--churn-seconds 15]
Exit status 0 when every case passes. Needs only python3; everything runs on 127.0.0.1.
"""
import argparse, os, random, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import dns_a, free_port, http  # noqa: E402

RESULTS = []


class Server:
    def __init__(self, beacon, work, data=None, extra=()):
        self.dns, self.http = free_port(), free_port()
        self.log_path = os.path.join(work, f"beacon-{self.http}.log")
        storage = ["--data", data] if data else ["--in-memory"]
        self.process = subprocess.Popen(
            [beacon, "serve", *storage, "--dns", f"127.0.0.1:{self.dns}", "--http", f"127.0.0.1:{self.http}",
             "--zones", os.path.join(work, "zones"), *extra], stderr=open(self.log_path, "w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                return
            try:
                if http(self.http, "GET", "/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.02)
        raise SystemExit("beacon did not start")

    def register(self, **fields):
        return http(self.http, "POST", "/v1/register", fields)

    def stop(self, how):
        self.process.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        self.process.wait(timeout=30)

    def log(self):
        return open(self.log_path).read()


def check(name, condition, detail=""):
    RESULTS.append((name, condition))
    print(f"{'ok' if condition else 'not ok'} - {name}{': ' + detail if detail else ''}", flush=True)


def expire_then_stop(beacon, work, how):
    data = os.path.join(work, f"expire-{how}")
    server = Server(beacon, work, data)
    server.register(service="svc", function="f", id="dead-1", address="10.0.0.1", port=1, ttl=2)
    server.register(service="svc", function="f", id="live-1", address="10.0.0.2", port=1, ttl=60)
    time.sleep(3)
    server.stop(how)
    server = Server(beacon, work, data)
    dead = http(server.http, "GET", "/v1/instances/dead-1")[0]
    live = http(server.http, "GET", "/v1/instances/live-1")[0]
    own = dns_a(server.dns, "dead-1.f.svc.local")[0]
    function = dns_a(server.dns, "f.svc.local")
    check(f"expire then {how}: the ended lease is not back, the live one is",
          dead == 404 and own == 3 and live == 200 and function == (0, ["10.0.0.2"]),
          f"GET dead-1 {dead}, dead-1 rcode {own}, GET live-1 {live}, f.svc A {function}")
    server.stop("SIGTERM")


def churn_then_stop(beacon, work, how, seconds):
    data = os.path.join(work, f"churn-{how}")
    server = Server(beacon, work, data)
    rng = random.Random(7)
    registered = 0
    end = time.time() + seconds
    while time.time() < end:
        ident = f"c{rng.randrange(100000)}"
        if server.register(service="churn", function=f"f{rng.randrange(20)}", id=ident, address="10.0.1.1",
                           port=1 + rng.randrange(60000), ttl=1 + rng.randrange(3))[0] == 200:
            registered += 1
        if rng.random() < 0.2:
            http(server.http, "DELETE", f"/v1/instances/{ident}")
    time.sleep(4.2)  # every lease has ended
    server.stop(how)
    server = Server(beacon, work, data)
    _, services = http(server.http, "GET", "/v1/services")
    served = sum(f["instances"] for s in services["services"] for f in s["functions"])
    answers = sum(len(dns_a(server.dns, f"f{n}.churn.local")[1]) for n in range(20))
    check(f"churn then {how}: {registered} registrations, none live at the stop, none back",
          served == 0 and answers == 0, f"{served} instances listed, {answers} DNS answers")
    server.stop("SIGTERM")


def limits_full_of_dead(beacon, work, how):
    data = os.path.join(work, f"limits-{how}")
    limit = ["--max-instances-per-function", "50"]
    server = Server(beacon, work, data, limit)
    for wave in range(2):
        for n in range(50):
            server.register(service="svc", function="f", id=f"w{wave}-{n}", address=f"10.1.{wave}.{n + 1}", port=1, ttl=1)
        time.sleep(2)
    status = server.register(service="svc", function="f", id="live-1", address="10.9.9.9", port=1, ttl=300)[0]
    time.sleep(0.6)
    server.stop(how)
    server = Server(beacon, work, data, limit)
    live = http(server.http, "GET", "/v1/instances/live-1")[0]
    answers = dns_a(server.dns, "f.svc.local")
    again = server.register(service="svc", function="f", id="live-2", address="10.9.9.8", port=1, ttl=300)[0]
    check(f"limits full of dead, then {how}: the live registration is back and alone",
          status == 200 and live == 200 and answers == (0, ["10.9.9.9"]) and again == 200,
          f"register {status}, GET live-1 {live}, f.svc A {answers}, another registration {again}")
    server.stop("SIGTERM")


def two_servers(beacon, work):
    data = os.path.join(work, "shared")
    first = Server(beacon, work, data)
    second = Server(beacon, work, data)
    try:
        second.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        second.stop("SIGKILL")
    message = second.log().strip().splitlines()[-1] if second.log().strip() else ""
    refused = second.process.returncode == 1 and data in message and str(first.process.pid) in message
    acked = sum(1 for n in range(600) if first.register(
        service="two", function="f", id=f"t{n}", address="10.2.0.1", port=1 + n, ttl=3600)[0] == 200)
    first.stop("SIGTERM")
    again = Server(beacon, work, data)
    _, listing = http(again.http, "GET", "/v1/services/two/f")
    check("two servers on one --data: the second exits 1 naming the directory and the holder; nothing is lost",
          refused and acked == 600 and len(listing["instances"]) == 600,
          f"second exit {second.process.returncode}: {message!r}; {acked} acknowledged, "
          f"{len(listing['instances'])} after a restart")
    again.stop("SIGTERM")


def watch_index(beacon, work):
    data = os.path.join(work, "index")
    server = Server(beacon, work, data)
    server.register(service="w", function="f", id="w1", address="10.3.0.1", port=1, ttl=3600)
    _, before = http(server.http, "GET", "/v1/services/w/f")
    server.stop("SIGKILL")
    server = Server(beacon, work, data)
    _, after = http(server.http, "GET", "/v1/services/w/f")
    check("the watch index rises across a SIGKILL", after["index"] > before["index"],
          f"{before['index']} -> {after['index']}")
    server.stop("SIGTERM")
    memory = Server(beacon, work)
    memory.register(service="w", function="f", id="w1", address="10.3.0.1", port=1, ttl=3600)
    _, listing = http(memory.http, "GET", "/v1/services/w/f")
    memory.stop("SIGTERM")
    memory = Server(beacon, work)
    started = time.time()
    status, _ = http(memory.http, "GET", f"/v1/services/w/f?index={listing['index'] + 10**12}&wait=20s", timeout=30)
    waited = time.time() - started
    check("--in-memory: a watcher holding an index from before the restart is answered at once",
          status == 200 and waited < 2, f"status {status} after {waited:.2f} s")
    memory.stop("SIGTERM")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=os.environ.get("BEACON_BIN", ".build/release/beacon"))
    parser.add_argument("--churn-seconds", type=float, default=15)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="beacon-restart-")
    os.makedirs(os.path.join(work, "zones"))
    try:
        for how in ("SIGTERM", "SIGKILL"):
            expire_then_stop(args.beacon, work, how)
            churn_then_stop(args.beacon, work, how, args.churn_seconds)
            limits_full_of_dead(args.beacon, work, how)
        two_servers(args.beacon, work)
        watch_index(args.beacon, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    failed = [name for name, passed in RESULTS if not passed]
    print(f"# {len(RESULTS) - len(failed)} of {len(RESULTS)} restart cases pass")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
