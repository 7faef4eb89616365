"""Headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-terminated
JSON on fds 3 and 4), with the Python standard library only. Used by status_page_check.py."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time


def wait_until(predicate, timeout, interval=0.05):
    """Polls `predicate` until it returns something truthy or `timeout` seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)



class Browser:
    """Headless Chromium driven over the DevTools pipe; `started(pid)` is told its PID."""

    def __init__(self, chromium, work, width, height, started):
        self.width, self.height = width, height
        commands_read, self.commands = os.pipe()
        self.replies, replies_write = os.pipe()

        def wire_pipes():
            # Chromium reads commands on fd 3 and writes replies and events on fd 4.
            a, b = os.dup(commands_read), os.dup(replies_write)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=work)
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--mute-audio", "--hide-scrollbars", f"--window-size={width},{height}",
             "about:blank"],
            preexec_fn=wire_pipes, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "chromium.log"), "w"))
        started(self.proc.pid)
        os.close(commands_read)
        os.close(replies_write)
        self.next_id = 0
        self.results = {}
        self.events = []        # since the last drain_events()
        self.all_events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self.replies, 1 << 20)
            if not chunk:
                with self.cond:
                    self.results[None] = "closed"
                    self.cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self.cond:
                    if "id" in message:
                        self.results[message["id"]] = message
                    else:
                        self.events.append(message)
                        self.all_events.append(message)
                    self.cond.notify_all()

    def send(self, method, params=None, session=True, timeout=15):
        with self.cond:
            self.next_id += 1
            ident = self.next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        with self.cond:
            if not self.cond.wait_for(lambda: ident in self.results or None in self.results, timeout):
                raise RuntimeError(f"{method}: no reply within {timeout} s")
            if None in self.results:
                raise RuntimeError("Chromium closed the DevTools pipe")
            reply = self.results.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        self.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
        # Long tasks (main thread blocked > 50 ms) are what a user feels as a freeze.
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": """
            window.__longTasks = [];
            new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
              .observe({ type: 'longtask', buffered: true });"""})
        self.send("Page.navigate", {"url": url})
        wait_until(lambda: self.eval("document.readyState") == "complete", 10)

    def eval(self, expression):
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def key(self, key, code=None, keycode=0, text=None):
        params = {"key": key, "code": code or key, "windowsVirtualKeyCode": keycode, "nativeVirtualKeyCode": keycode}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", **params, **({"text": text} if text else {})})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **params})

    def click(self, selector):
        box = self.eval(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                        " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def drain_events(self):
        with self.cond:
            events, self.events = self.events, []
        return events

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
            self.proc.wait(5)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
