#!/usr/bin/env python3
"""Checks Beacon's status page in headless Chromium against a live server.

Run by status-page.sh, which installs Chromium and stops every process this script started (their
PIDs go to $PIDS_FILE as they start). Chromium is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), so nothing beyond the Python
standard library is needed.

Prints one line per check and ends with "N passed, M failed"; exits 1 if any check failed.
"""

import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devtools import Browser, wait_until  # noqa: E402

BEACON = os.environ["BEACON_BIN"]
CHROMIUM = os.environ.get("CHROMIUM", "chromium")
WORK = os.environ["WORK_DIR"]
PIDS_FILE = os.environ["PIDS_FILE"]
SCREENSHOT = os.environ["SCREENSHOT"]
REPO = os.environ["REPO_ROOT"]
TOKEN = "page-test-token-0123456789"
WIDTH, HEIGHT = 1280, 820

passed = failed = 0
started_at = time.monotonic()


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    stamp = f"{time.monotonic() - started_at:6.1f}s"
    print(f"{stamp} {'ok  ' if ok else 'FAIL'} {what}{': ' + str(detail) if detail else ''}", flush=True)
    return ok


def remember_pid(pid):
    with open(PIDS_FILE, "a") as f:
        f.write(f"{pid}\n")


# MARK: - Beacon


class Beacon:
    """`beacon serve --in-memory` on loopback; free ports on the first start, the same ones on a restart."""

    def __init__(self):
        self.dns = self.http = None
        self.proc = None
        self.token_file = os.path.join(WORK, "tokens")
        with open(self.token_file, "w") as f:
            f.write(f"# the page needs no token; registrations do\n{TOKEN}\n")

    def start(self):
        log_path = os.path.join(WORK, "beacon.log")
        log = open(log_path, "a")
        dns = f"127.0.0.1:{self.dns or 0}"
        http_address = f"127.0.0.1:{self.http or 0}"
        self.proc = subprocess.Popen(
            [BEACON, "serve", "--in-memory", "--dns", dns, "--http", http_address, "--domain", "internal.",
             "--zones", os.path.join(REPO, "zones"), "--token-file", self.token_file],
            stdout=subprocess.DEVNULL, stderr=log)
        remember_pid(self.proc.pid)
        offset = log.tell()

        def listening():
            with open(log_path) as f:
                f.seek(offset)
                text = f.read()
            found = dict(re.findall(r"(dns|http) listening on 127\.0\.0\.1:(\d+)", text))
            return found if len(found) == 2 else None

        found = wait_until(listening, 10)
        if not found:
            raise SystemExit(f"beacon did not start; log:\n{open(log_path).read()}")
        self.dns, self.http = int(found["dns"]), int(found["http"])
        self.connection = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def request(self, method, path, body=None):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.http, timeout=10)
            try:
                headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
                data = json.dumps(body).encode() if body is not None else None
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, json.loads(payload) if payload else None
            except (ConnectionError, http.client.HTTPException):
                self.connection = None
                if attempt:
                    raise

    def register(self, service, function, address, port, **extra):
        status, reply = self.request(
            "POST", "/v1/register", {"service": service, "function": function, "address": address, "port": port, **extra})
        if status != 200:
            raise SystemExit(f"register {service}/{function} answered {status}: {reply}")
        return reply["id"]


class QueryLoad(threading.Thread):
    """About `rate` SRV queries a second over UDP to Beacon, for the page's queries-per-second figure.

    Bounded: stops when told to or after `limit` seconds.
    """

    def __init__(self, port, rate=100, limit=150):
        super().__init__(daemon=True)
        self.port, self.rate, self.limit = port, rate, limit
        self.stopping = threading.Event()
        self.sent = 0
        self.times = collections.deque(maxlen=1000)   # send times, for the rate over the last seconds

    def recent_rate(self, seconds=2.0):
        now = time.monotonic()
        recent = [t for t in list(self.times) if now - t <= seconds]
        return (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0

    def run(self):
        name = b"".join(bytes([len(label)]) + label for label in (b"create", b"orders", b"internal")) + b"\0"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.setblocking(False)
            began = time.monotonic()
            while not self.stopping.is_set() and time.monotonic() - began < self.limit:
                query = struct.pack("!HHHHHH", self.sent & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 33, 1)
                try:
                    udp.sendto(query, ("127.0.0.1", self.port))
                    self.sent += 1
                    self.times.append(time.monotonic())
                    while True:
                        udp.recv(4096)   # drain the answers
                except (BlockingIOError, ConnectionRefusedError):
                    pass
                self.stopping.wait(1 / self.rate)


# MARK: - Page helpers


def urllib_get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


ROW_KEYS = "[...document.querySelectorAll('#functions-body tr[data-key]')].map(r => r.dataset.key)"
INSTANCE_IDS = "[...document.querySelectorAll('#instances-body tr[data-id]')].map(r => r.dataset.id)"


def text(browser, element_id):
    return browser.eval(f"document.getElementById({json.dumps(element_id)})?.textContent")


def count_of(browser, key):
    return browser.eval(f"document.querySelector('#functions-body tr[data-key=\"{key}\"] td.num')?.textContent")


def lease_of(browser, ident):
    return browser.eval(f"document.querySelector('#instances-body tr[data-id=\"{ident}\"] td.lease')?.textContent")


# MARK: - The checks


def run(beacon, browser):
    origin = f"http://127.0.0.1:{beacon.http}"
    for i in range(1, 4):
        beacon.register("orders", "create", f"10.0.0.{i}", 8080, id=f"web-{i}", ttl=300,
                        meta={"version": "1.2", "zone": "eu-1" if i < 3 else "eu-2"})
    beacon.register("orders", "list", "10.0.1.7", 8081, id="api-1", ttl=300)
    beacon.register("payments", "charge", "10.0.2.1", 9000, id="pay-1", ttl=300, priority=0, weight=3)
    beacon.register("payments", "charge", "10.0.2.2", 9000, id="pay-2", ttl=300, priority=10, weight=1)
    beacon.register("users", "lookup", "2001:db8::10", 7000, id="usr-1", ttl=300, meta={"region": "north"})

    load = QueryLoad(beacon.dns)
    load.start()

    # The page lists what was registered before it loaded.
    load_started = time.monotonic()
    browser.open(f"{origin}/ui")
    totals = wait_until(lambda: (t := text(browser, "totals")) and "7 instances" in t and t, 10)
    check(totals == "3 services · 4 functions · 7 instances", "the page lists every service and function", totals)
    check(browser.eval(ROW_KEYS) == ["orders/create", "orders/list", "payments/charge", "users/lookup"],
          "functions in order", browser.eval(ROW_KEYS))
    check(count_of(browser, "orders/create") == "3", "live instance count per function", count_of(browser, "orders/create"))
    check(wait_until(lambda: text(browser, "link-text") == "Live", 5), "connection shows Live",
          f"{time.monotonic() - load_started:.2f} s after navigation")
    qps = wait_until(lambda: (q := text(browser, "m-qps")) != "–" and q, 4)
    actual = load.recent_rate()
    check(qps and 0.6 * actual <= float(qps.replace(",", "")) <= 1.4 * actual,
          "queries per second from two /metrics samples", f"page {qps}, sent {actual:.0f}/s")
    check(text(browser, "m-instances") == "7", "instance figure from /metrics", text(browser, "m-instances"))
    browser.eval("window.__sameDocument = 42")

    # Keyboard: filter, Enter chooses the first match; arrows move through the list.
    browser.eval("document.getElementById('filter').focus()")
    browser.send("Input.insertText", {"text": "pay"})
    check(wait_until(lambda: browser.eval(ROW_KEYS) == ["payments/charge"], 2), "the filter narrows the list",
          text(browser, "matches"))
    browser.key("Enter", keycode=13, text="\r")
    check(wait_until(lambda: browser.eval(INSTANCE_IDS) == ["pay-1", "pay-2"], 3),
          "Enter in the filter opens the first match", browser.eval("location.hash"))
    browser.eval("(() => { const f = document.getElementById('filter'); f.select(); })()")
    browser.key("Backspace", keycode=8)
    wait_until(lambda: len(browser.eval(ROW_KEYS)) == 4, 2)
    browser.key("ArrowDown", keycode=40)
    browser.key("ArrowDown", keycode=40)
    focused = browser.eval("document.activeElement.closest('tr')?.dataset.key")
    check(focused == "orders/list", "arrow keys move the focus through the rows", focused)
    browser.key("ArrowDown", keycode=40)
    browser.key("ArrowUp", keycode=38)
    browser.key("Enter", keycode=13, text="\r")
    check(wait_until(lambda: browser.eval("location.hash") == "#orders/list", 2), "Enter on a row opens it",
          browser.eval("location.hash"))
    # The list is one tab stop, on the open row: Tab from the filter lands there.
    browser.eval("document.getElementById('filter').focus()")
    browser.key("Tab", keycode=9)
    focused = browser.eval("document.activeElement.closest('tr')?.dataset.key")
    check(focused == "orders/list", "Tab from the filter goes to the open row", focused)

    # A click opens a function: its instances, DNS names and a dig line that works.
    browser.click('#functions-body tr[data-key="orders/create"] a')
    check(wait_until(lambda: browser.eval(INSTANCE_IDS) == ["web-1", "web-2", "web-3"], 3),
          "a click shows the function's instances", browser.eval(INSTANCE_IDS))
    row = browser.eval("[...document.querySelectorAll('#instances-body tr[data-id=\"web-3\"] td')].map(c => c.textContent)")
    check(row[:5] == ["web-3", "10.0.0.3", "8080", "0", "1"] and "version=1.2" in row[5] and "zone=eu-2" in row[5],
          "address, port, priority, weight and meta", row)
    dig = text(browser, "dig")
    expected = f"dig @127.0.0.1 -p {beacon.dns} create.orders.internal SRV"
    check(dig == expected, "the dig line names the server's DNS address and domain", dig)
    if shutil.which("dig"):
        answer = subprocess.run(dig.split() + ["+short", "+time=2", "+tries=1"], capture_output=True, text=True, timeout=10)
        check(sorted(answer.stdout.split("\n"))[1:] ==
              sorted(f"0 1 8080 web-{i}.create.orders.internal." for i in range(1, 4)),
              "running the dig line finds the three instances", answer.stdout.strip().replace("\n", "; "))
    names = browser.eval("[...document.querySelectorAll('#names code')].map(c => c.textContent)")
    check(names == ["create.orders.internal", "_create._tcp.orders.internal", "ID.create.orders.internal"],
          "DNS names to query", names)
    browser.send("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                              "origin": origin}, session=False)
    browser.click("#copy")
    check(wait_until(lambda: text(browser, "copy-status") == "Copied.", 2), "the copy button reports Copied",
          text(browser, "copy-status"))
    clipboard = browser.eval("navigator.clipboard.readText().catch(e => 'unreadable: ' + e.message)")
    check(clipboard == expected, "the clipboard holds the dig line", clipboard)
    # Without the Clipboard API (plain http from another host) the button falls back to execCommand.
    browser.eval("""(async () => {
        await navigator.clipboard.writeText('stale');
        navigator.clipboard.writeText = () => Promise.reject(new Error('not allowed'));
        document.getElementById('copy-status').textContent = '';
    })()""")
    browser.click("#copy")
    fallback = wait_until(lambda: (s := text(browser, "copy-status")) and s, 2)
    copied = browser.eval("navigator.clipboard.readText().catch(e => 'unreadable: ' + e.message)")
    selected = browser.eval("getSelection().toString()")
    check((fallback == "Copied." and copied == expected) or (fallback.startswith("Selected") and selected == expected),
          "the fallback copies, or selects the line for Ctrl+C", f"{fallback!r}, clipboard {copied!r}")
    check(browser.eval("document.activeElement.id") == "copy", "focus stays on the Copy button")

    # The lease countdown ticks locally.
    first = lease_of(browser, "web-1")
    time.sleep(1.1)
    second = lease_of(browser, "web-1")
    check(re.fullmatch(r"\d+ m \d\d s|\d+\.\d s", first or "") is not None and first != second,
          "the lease countdown ticks", f"{first} -> {second}")

    # Idle: the watches are parked on the server, nothing polls /v1.
    time.sleep(1)
    browser.drain_events()
    time.sleep(3)
    requests = [e["params"]["request"]["url"] for e in browser.drain_events() if e.get("method") == "Network.requestWillBeSent"]
    check(not [u for u in requests if "/v1/" in u], "no /v1 request in 3 idle seconds (blocking queries, no polling)",
          requests)

    # Changes made after the page loaded appear without a reload.
    made = time.monotonic()
    beacon.register("orders", "create", "10.0.0.4", 8080, id="web-4", ttl=300, meta={"version": "1.3"})
    beacon.register("payments", "refund", "10.0.2.9", 9001, id="ref-1", ttl=300)
    shown = wait_until(lambda: "web-4" in browser.eval(INSTANCE_IDS) and "payments/refund" in browser.eval(ROW_KEYS), 5)
    check(shown, "registrations made after load appear", f"{time.monotonic() - made:.2f} s")
    check(count_of(browser, "orders/create") == "4", "the count follows", count_of(browser, "orders/create"))
    check(browser.eval("window.__sameDocument") == 42, "without a reload")

    # A lease that ends without heartbeats disappears; one kept alive by heartbeats stays.
    beacon.register("orders", "create", "10.0.0.50", 8080, id="short-1", ttl=2)
    beacon.register("orders", "create", "10.0.0.51", 8080, id="beat-1", ttl=3)
    registered = time.monotonic()
    check(wait_until(lambda: {"short-1", "beat-1"} <= set(browser.eval(INSTANCE_IDS)), 3), "short leases appear")
    time.sleep(0.3)
    browser.screenshot(SCREENSHOT)
    check(os.path.getsize(SCREENSHOT) < 300_000, "screenshot saved", f"{SCREENSHOT} ({os.path.getsize(SCREENSHOT)} bytes)")
    gone = None
    for beat in range(1, 6):
        # Watch for short-1 to go until the next heartbeat of beat-1 is due, once a second.
        while time.monotonic() < registered + beat:
            if gone is None and "short-1" not in browser.eval(INSTANCE_IDS):
                gone = time.monotonic() - registered
            time.sleep(0.05)
        beacon.request("POST", "/v1/instances/beat-1/heartbeat")
    check(bool(gone) and gone < 4, "an expired lease disappears", f"{gone:.2f} s after registering with ttl 2" if gone else "")
    check(count_of(browser, "orders/create") == "5", "the count drops with it", count_of(browser, "orders/create"))
    # A heartbeat does not raise the index: the page re-checks a lease when its countdown ends.
    lease = wait_until(lambda: (t := lease_of(browser, "beat-1")) not in (None, "0.0 s") and t, 2)
    check(bool(lease), "a heartbeated lease stays and its countdown is renewed",
          f"beat-1 expires in {lease} at {time.monotonic() - registered:.1f} s, ttl 3")

    # Unreachable: the page says so, retries with backoff, and recovers without a reload.
    beacon.stop()
    stopped = time.monotonic()
    check(wait_until(lambda: browser.eval("!document.getElementById('offline').hidden") and text(browser, "link-text") == "Offline", 5),
          "a stopped server shows as unreachable", f"{time.monotonic() - stopped:.2f} s")
    retry = text(browser, "offline-retry")
    check(re.fullmatch(r"Retrying in \d+ s\.|Retrying…", retry) is not None, "with the time of the next try", retry)
    time.sleep(2)
    beacon.start()
    beacon.register("inventory", "reserve", "10.0.3.1", 7100, id="inv-1", ttl=300)
    recovered = wait_until(lambda: browser.eval(ROW_KEYS) == ["inventory/reserve"] and text(browser, "link-text") == "Live", 20)
    check(recovered, "after a restart the page reconnects and shows the new table",
          f"{time.monotonic() - stopped:.1f} s after the stop; rows {browser.eval(ROW_KEYS)}")
    check(browser.eval("window.__sameDocument") == 42, "still without a reload")

    # 10,000 functions: the list stays small in the DOM and fast to filter and scroll.
    # First make sure the long-task probe sees a task we know is long.
    browser.eval("setTimeout(() => { const t = performance.now(); while (performance.now() - t < 120); })")
    check(wait_until(lambda: browser.eval("window.__longTasks.some(d => d >= 100)"), 2), "the long-task probe works")
    browser.eval("window.__longTasks.length = 0")
    began = time.monotonic()
    for s in range(100):
        for f in range(100):
            beacon.register(f"bulk-{s:02d}", f"fn-{f:03d}", f"10.{s}.{f // 250}.{f % 250 + 1}", 8000, ttl=600)
    took = time.monotonic() - began
    print(f"        registered 10,000 functions in {took:.1f} s (the page kept up meanwhile)", flush=True)
    totals = wait_until(lambda: (t := text(browser, "totals")) and "10,001 functions" in t and t, 10)
    check(bool(totals), "10,000 functions listed", totals)
    time.sleep(0.3)
    catalog_ms = browser.eval("Math.max(...performance.getEntriesByName('beacon:catalog').slice(-3).map(e => e.duration))")
    rows = browser.eval("document.querySelectorAll('#functions-body tr').length")
    check(rows < 120, "only the rows in view are in the DOM", f"{rows} rows; full list drawn in {catalog_ms:.1f} ms")
    check(catalog_ms < 500, "drawing 10,000 functions takes under 500 ms", f"{catalog_ms:.1f} ms")
    browser.eval("(() => { const s = document.getElementById('functions-scroll'); s.scrollTop = s.scrollHeight; })()")
    last = wait_until(lambda: (k := browser.eval(ROW_KEYS)) and k[-1] == "inventory/reserve" and k, 2)
    check(bool(last), "scrolled to the end, the last rows are drawn", (last or ["?"])[-1])
    # The rows above the drawn ones are one spacer, sized from the script (the CSSOM, which the
    # policy allows; a style attribute it would refuse).
    spacer = browser.eval("document.querySelector('#functions-body tr.spacer td').getBoundingClientRect().height")
    check(spacer > 100_000, "the spacer above them takes the height of the rows not drawn", f"{spacer:.0f} px")
    browser.eval("document.getElementById('filter').focus()")
    browser.send("Input.insertText", {"text": "bulk-42 fn-09"})
    matches = wait_until(lambda: (m := text(browser, "matches")).startswith("10 of") and m, 3)
    filter_ms = browser.eval("Math.max(...performance.getEntriesByName('beacon:filter').map(e => e.duration))")
    check(bool(matches), "filtering 10,000 functions", f"{matches} (slowest keystroke {filter_ms:.1f} ms)")
    long_tasks = browser.eval("window.__longTasks")
    check(max(long_tasks, default=0) < 500, "no main-thread task over 500 ms while 10,000 registrations streamed in",
          f"{len(long_tasks)} tasks over 50 ms, longest {max(long_tasks, default=0):.0f} ms")
    size = len(urllib_get(f"{origin}/v1/services"))
    reloaded = time.monotonic()
    browser.send("Page.reload", {"ignoreCache": True})
    listed = wait_until(lambda: "10,001 functions" in (text(browser, "totals") or ""), 10)
    check(listed and time.monotonic() - reloaded < 5, "a fresh load of 10,000 functions is listed within 5 s",
          f"{time.monotonic() - reloaded:.2f} s from reload to list ({size // 1024} KiB of /v1/services)")
    heading = wait_until(lambda: text(browser, "details-heading") == "create.orders" and text(browser, "details-summary"), 3)
    check(heading == "0 instances", "the function in the URL opens on load", f"{text(browser, 'details-heading')}: {heading}")

    # Nothing left the origin, and the script raised nothing.
    events = browser.all_events
    # The stylesheet and the script are files of this server, with their types.
    responses = {e["params"]["response"]["url"]: e["params"]["response"] for e in events
                 if e.get("method") == "Network.responseReceived"}
    for path, mime in (("/ui/style.css", "text/css"), ("/ui/lib.js", "application/javascript"),
                       ("/ui/app.js", "application/javascript")):
        response = responses.get(origin + path)
        check(response and response["status"] == 200 and response["mimeType"] == mime,
              f"the page loads {path} from the server as {mime}",
              response and f"{response['status']} {response['mimeType']}")
    check(browser.eval("getComputedStyle(document.body).display") == "flex", "the stylesheet applies",
          browser.eval("getComputedStyle(document.body).display"))
    foreign = [e["params"]["request"]["url"] for e in events
               if e.get("method") == "Network.requestWillBeSent" and not e["params"]["request"]["url"].startswith(origin)]
    check(not foreign, "every request went to the server itself", foreign)
    errors = [e["params"] for e in events if e.get("method") in ("Runtime.exceptionThrown",)]
    errors += [e["params"]["entry"] for e in events
               if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
               and "net::ERR_CONNECTION_REFUSED" not in e["params"]["entry"].get("text", "")
               and "Failed to load resource" not in e["params"]["entry"].get("text", "")]
    check(not errors, "no script errors or CSP violations", [json.dumps(e)[:300] for e in errors[:3]])

    # The page's Content-Security-Policy is in force: a request to another origin (another port on
    # loopback, so nothing leaves the machine even if it were not) is refused by the browser.
    blocked = browser.eval("""new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true });
        fetch('http://127.0.0.1:9/').catch(() => {});
        setTimeout(() => resolve('no violation'), 2000);
    })""")
    check(blocked == "connect-src", "the page's CSP refuses other origins", blocked)
    # Nor does it run inline script or apply inline style: the stylesheet and the script come only
    # from the server ('self'), and nothing needs 'unsafe-inline'.
    inline = browser.eval("""new Promise((resolve) => {
        const seen = [];
        const record = (e) => seen.push(e.violatedDirective);
        document.addEventListener('securitypolicyviolation', record);
        const script = document.createElement('script');
        script.textContent = 'window.__inlineRan = true';
        document.head.append(script);
        const style = document.createElement('style');
        style.textContent = 'footer { outline: 3px dashed red; }';
        document.head.append(style);
        const header = document.querySelector('header');
        header.setAttribute('style', 'outline: 3px dashed red');
        setTimeout(() => {
            document.removeEventListener('securitypolicyviolation', record);
            const result = {
                seen: seen.sort(), ran: window.__inlineRan === true,
                outlines: [getComputedStyle(document.querySelector('footer')).outlineStyle,
                           getComputedStyle(header).outlineStyle],
            };
            script.remove(); style.remove(); header.removeAttribute('style');
            resolve(result);
        }, 1000);
    })""")
    check(inline["seen"] == ["script-src-elem", "style-src-attr", "style-src-elem"] and not inline["ran"]
          and inline["outlines"] == ["none", "none"],
          "the page's CSP refuses inline script, style elements and style attributes", inline)
    load.stopping.set()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    beacon = Beacon()
    beacon.start()
    browser = Browser(CHROMIUM, WORK, WIDTH, HEIGHT, remember_pid)
    try:
        run(beacon, browser)
    except Exception as error:  # a broken step is a failed check, with the reason, not a traceback alone
        check(False, "the run stopped", repr(error))
    finally:
        browser.close()
        beacon.stop()
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
