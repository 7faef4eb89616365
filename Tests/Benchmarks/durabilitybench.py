#!/usr/bin/env python3
"""Durability figures (issue 3), end to end over HTTP:
  1. registrations per second with the journal on (group commit, --data) versus --in-memory, with
     1, 16 and 64 concurrent keep-alive clients;
  2. start-up time and resident memory when recovering a journal and snapshot of N instances
     (default 1,000,000) after kill -9.
Usage: durabilitybench.py [--beacon .build/release/beacon] [--seconds 5] [--instances 1000000]
"""
import argparse, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsbench as d


def start(beacon, args):
    dns, http = d.free_port(), d.free_port()
    process = subprocess.Popen([beacon, "serve", "--dns", f"127.0.0.1:{dns}", "--http", f"127.0.0.1:{http}",
                                "--log-level", "warning"] + args)
    started = time.time()
    while True:
        try:
            with socket.create_connection(("127.0.0.1", http), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    return process, dns, http, time.time() - started
        except OSError:
            time.sleep(0.005)
        if process.poll() is not None:
            raise SystemExit("beacon exited")


def client(http, index, deadline, counts):
    sock = socket.create_connection(("127.0.0.1", http))
    n = 0
    buffer = b""
    while time.time() < deadline:
        body = (f'{{"service":"bench","function":"f{index}","id":"c{index}x{n % 500}","address":"10.0.0.1",'
                f'"port":{1000 + n % 500},"ttl":600}}')
        sock.sendall(f"POST /v1/register HTTP/1.1\r\nHost: b\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += sock.recv(65536)
        buffer = rest[length:]
        if head.startswith(b"HTTP/1.1 200"):
            n += 1
    counts[index] = n
    sock.close()


def throughput(beacon, extra, clients, seconds):
    process, _, http, _ = start(beacon, extra)
    try:
        counts = [0] * clients
        deadline = time.time() + seconds
        threads = [threading.Thread(target=client, args=(http, i, deadline, counts)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / seconds
    finally:
        d.stop(process)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon", default=".build/release/beacon")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--instances", type=int, default=1_000_000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="beacon-durability-")
    try:
        print("== registrations per second over HTTP (keep-alive clients, each waiting for its 200)")
        for clients in (1, 16, 64):
            data = os.path.join(work, f"data-{clients}")
            journal = throughput(args.beacon, ["--data", data], clients, args.seconds)
            memory = throughput(args.beacon, ["--in-memory"], clients, args.seconds)
            print(f"   {clients:3d} clients: journal {journal:9,.0f}/s   in-memory {memory:9,.0f}/s   "
                  f"ratio {journal / memory:.2f}", flush=True)
        print(f"== recovering {args.instances:,} instances")
        data = os.path.join(work, "data-big")
        process, _, http, _ = start(args.beacon, ["--data", data, "--journal-compact-bytes", str(16 << 20)])
        dataset = d.Dataset(args.instances // 3)
        count, seconds = d.load_beacon(http, dataset, connections=8)
        print(f"   loaded {count:,} registrations through the journal in {seconds:.1f} s ({count / seconds:,.0f}/s)")
        time.sleep(2)  # let a running compaction finish writing its snapshot
        process.send_signal(signal.SIGKILL)
        process.wait()
        sizes = {name: os.path.getsize(os.path.join(data, name)) for name in os.listdir(data)}
        print("   on disk: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(sizes.items())))
        process, dns, http, startup = start(args.beacon, ["--data", data])
        rss = d.rss_kib(process.pid)
        print(f"   kill -9, restart: serving after {startup:.2f} s, resident memory {rss / 1024:.0f} MiB "
              f"({rss * 1024 / count:.0f} bytes per instance)")
        d.stop(process)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
