"""Concurrent heartbeat load for the etcd figures: wrk with Lua scripts (cycling as fast as the
server answers, or paced so that each instance is heartbeated once per interval), registration in
bulk over keep-alive connections, and small readers of /metrics and /proc. Standard library and
wrk only; installs nothing."""
import http.client, json, os, re, subprocess, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from beaconlib import cpu_seconds  # noqa: E402  (etcdfigures reads it as load.cpu_seconds)

# Each wrk thread takes every THREADS-th id and cycles through them, aiming at one heartbeat per id
# per INTERVAL whatever the answers take: each connection waits `period` between an answer and its
# next request, and every second the thread compares what it sent with that aim and scales the
# period (independent clients do not slow down together when the server is slow; a fixed period
# would). A shared schedule, each request reserving the next slot, was tried first: idle connections
# held slots far ahead while the list was short, and the whole load fell tens of seconds behind. The
# id file is read again every second when its size changed (it grows while registrations go on; it
# is replaced by rename, so a read never sees half of it). wrk's Lua has no fine clock: it comes from
# CLOCK_MONOTONIC through LuaJIT's ffi.
PACED = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } beacon_timespec;
int clock_gettime(int clk_id, beacon_timespec *tp);
]]
local ts = ffi.new("beacon_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1000000
end
local created = 0
function setup(thread)
  thread:set("index", created)
  created = created + 1
end
local mine, cursor, period, loaded_at, loaded_size = {}, 0, 1000, 0, -1
local window_start, window_sent = 0, 0
local function load_ids()
  loaded_at = now_ms()
  local file = io.open("IDS_FILE")
  if not file then return end
  -- Parsing the list stalls every connection of this thread: only when it changed.
  local size = file:seek("end")
  if size == loaded_size then
    file:close()
    return
  end
  file:seek("set")
  local ids, n = {}, 0
  for line in file:lines() do
    if n % THREADS == index and line ~= "" then ids[#ids + 1] = line end
    n = n + 1
  end
  file:close()
  local grew = #ids > #mine
  mine, loaded_size = ids, size
  if grew then period = math.min(period, math.max(1, INTERVAL_MS / #mine * CONNECTIONS / THREADS)) end
  if #mine > 0 and period >= 1000 then period = math.max(1, INTERVAL_MS / #mine * CONNECTIONS / THREADS) end
end
-- Every second: scale the period by what was sent against the aim (one per id per INTERVAL).
local function steer(now)
  local elapsed = now - window_start
  if elapsed < 1000 then return end
  if #mine > 0 then
    local aim = #mine * elapsed / INTERVAL_MS
    local ratio = math.max(0.25, math.min(4, window_sent / aim))
    period = math.max(1, math.min(INTERVAL_MS, period * ratio))
  end
  window_start, window_sent = now, 0
end
-- wrk calls request() once on its first thread to check the script, before any connection sends.
local checked = true
function init(args)
  load_ids()
  window_start = now_ms()
  checked = index ~= 0
end
function request()
  if not checked or #mine == 0 then
    checked = true
    return wrk.format("GET", "/healthz")
  end
  cursor = cursor % #mine + 1
  window_sent = window_sent + 1
  return wrk.format("POST", "/v1/instances/" .. mine[cursor] .. "/heartbeat", nil, "")
end
function delay()
  local now = now_ms()
  if now - loaded_at > 1000 then load_ids() end
  steer(now)
  return period
end
"""

CYCLING = r"""
local ids = {}
for line in io.lines("IDS_FILE") do ids[#ids + 1] = line end
local counter = -1  -- wrk calls request() once to check the script, before sending anything
function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/instances/" .. ids[(counter - 1) % #ids + 1] .. "/heartbeat", nil, "")
end
"""


def write_ids(path, ids):
    """Replaces the id file a paced script reads (by rename: never seen half-written)."""
    with open(path + ".new", "w") as f:
        f.write("\n".join(ids) + "\n")
    os.replace(path + ".new", path)


def write_script(workdir, name, ids, interval=None, threads=1, connections=512):
    """A wrk script heartbeating `ids`: paced at one heartbeat per id per `interval` seconds (the id
    file, `<workdir>/<name>.ids`, may be replaced while it runs), or, with no interval, cycling as
    fast as the server answers."""
    ids_file = os.path.join(workdir, f"{name}.ids")
    write_ids(ids_file, ids)
    text = (PACED if interval else CYCLING).replace("IDS_FILE", ids_file)
    text = text.replace("THREADS", str(threads)).replace("INTERVAL_MS", str((interval or 0) * 1000))
    text = text.replace("CONNECTIONS", str(connections))
    path = os.path.join(workdir, f"{name}.lua")
    with open(path, "w") as f:
        f.write(text)
    return path


def wrk_command(port, script, seconds, threads, connections):
    return ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script,
            f"http://127.0.0.1:{port}"]


def parse_wrk(out):
    """Requests/s, total requests, p99 in microseconds, non-2xx count, socket errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1, "ms": 1000, "s": 1_000_000}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps, "requests": total, "p99_us": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def run_wrk(port, script, seconds, threads=2, connections=32):
    out = subprocess.run(wrk_command(port, script, seconds, threads, connections), capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def register_all(port, bodies, connections=8):
    """POSTs every body to /v1/register over `connections` keep-alive connections at once.
    Returns (registered, failures, seconds)."""
    chunks = [bodies[i::connections] for i in range(connections)]
    counts = [[0, 0] for _ in chunks]

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for body in chunks[index]:
            data = json.dumps(body)
            for attempt in range(3):
                try:
                    connection.request("POST", "/v1/register", data, {"Content-Type": "application/json"})
                    response = connection.getresponse()
                    response.read()
                    counts[index][0 if response.status == 200 else 1] += 1
                    break
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    if attempt == 2:
                        counts[index][1] += 1
        connection.close()

    started = time.time()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(chunks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts), time.time() - started


def register_then_heartbeat(workdir, name, nodes, shares, interval, batch=500, connections=8):
    """Registers `shares[i]` (registration bodies) through `nodes[i]`, all nodes at once, while one
    paced wrk per node heartbeats what is registered so far: each batch joins that node's cycle as
    soon as it is in, so no instance waits long for its first heartbeat and no heartbeat goes to an id
    not registered yet (which costs a node an etcd read to answer 404).
    Returns the wrk processes (stop them with `stop_all`) and (registered, failed, seconds)."""
    processes, totals, lock, started = [], [0, 0], threading.Lock(), time.time()
    for index, node in enumerate(nodes):
        # Many connections: each real client has its own, and a heartbeat waiting for a keep-alive
        # must not hold back the ones after it.
        script = write_script(workdir, f"{name}{index}", [], interval=interval, threads=1, connections=2_048)
        processes.append(subprocess.Popen(wrk_command(node.http_port, script, 3_600, 1, 2_048), stdout=subprocess.DEVNULL))

    def node_worker(index):
        node, bodies, ids = nodes[index], shares[index], []
        for start in range(0, len(bodies), batch):
            done, refused, _ = register_all(node.http_port, bodies[start : start + batch], connections)
            ids += [b["id"] for b in bodies[start : start + batch]]
            write_ids(os.path.join(workdir, f"{name}{index}.ids"), ids)
            with lock:
                totals[0], totals[1] = totals[0] + done, totals[1] + refused
                if index == 0 and (start // batch) % 20 == 19:
                    print(f"  ... {totals[0]:,} registered after {time.time() - started:.0f} s, load average {load_average()}", flush=True)

    workers = [threading.Thread(target=node_worker, args=(i,)) for i in range(len(nodes))]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    except BaseException:
        stop_all(processes)
        raise
    return processes, (totals[0], totals[1], time.time() - started)


def stop_all(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()


def metrics(port):
    """Beacon's /metrics as {'name{labels}': value}."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return {}
    finally:
        connection.close()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def etcd_counter(members, method, family="grpc_server_handled_total"):
    """The sum over etcd members of a gRPC counter for `method` (e.g. LeaseTimeToLive)."""
    total = 0.0
    for client in members:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", client, timeout=5)
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
            connection.close()
        except (OSError, http.client.HTTPException):
            continue
        for line in text.splitlines():
            if line.startswith(family) and f'grpc_method="{method}"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
