#!/usr/bin/env python3
"""cdp.py: drives a headless Chromium over the DevTools protocol, for the wallboard's test and
benchmark. Standard library only: the protocol runs over --remote-debugging-pipe (file
descriptors 3 and 4, messages ended by NUL), so no port and no websocket.

It reads commands on standard input, one a line, and answers each with one line, "ok JSON" or
"fail WHY" (a coprocess for bash):
    open URL [WIDTH HEIGHT]   a page of that size, loaded
    header NAME VALUE         an extra request header for the pages opened next (basic auth)
    eval EXPR                 the value of a JavaScript expression (promises awaited)
    wait SECONDS EXPR         EXPR again every 0.1 s until it is truthy: "ok VALUE", else "fail"
    shot FILE                 a PNG screenshot of the page
    errors                    JavaScript exceptions and console errors so far (CSP refusals too)
    quit
Every wait is bounded: a command never takes longer than its SECONDS (or 30 s) plus 5 s.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class Browser:
    def __init__(self):
        exe = os.environ.get("AW_CHROMIUM") or next(
            (b for b in BROWSERS if shutil.which(b)), None)
        if not exe:
            raise SystemExit("cdp.py: no chromium found (packaging/install-deps.sh installs it)")
        self.profile = tempfile.mkdtemp(prefix="aw-chromium.")
        # Above 3 and 4 first, so that dup2 never finds its target taken by the other pipe.
        def high(fd):
            new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return new

        to_child_r, self.to_child = map(high, os.pipe())
        self.from_child, from_child_w = map(high, os.pipe())

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-dev-shm-usage",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.profile, "stderr"), "w"),
            close_fds=False, preexec_fn=fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.errors = []
        self.headers = {}

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise EOFError("chromium exited")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def _note(self, msg):
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            # Network errors are the test's own doing (a daemon stopped on purpose).
            if e.get("source") != "network":
                self.errors.append("log: " + e.get("text", ""))

    def call(self, method, params=None, timeout=30, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"].get("message")))
                return reply.get("result", {})
            self._note(reply)

    def open(self, url, width=1600, height=1000):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.call("Network.enable")
        self.call("Network.setExtraHTTPHeaders", {"headers": self.headers})
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})
        return self.wait(30, "document.readyState === 'complete'")

    def eval(self, expr, timeout=30):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"].get("exception", {}).get("description", "exception"))
        return r["result"].get("value")

    def wait(self, seconds, expr):
        end = time.monotonic() + seconds
        value = None
        while True:
            try:
                value = self.eval(expr, timeout=max(1, end - time.monotonic()) + 5)
            except RuntimeError as e:
                value = "error: %s" % e
            if value and not (isinstance(value, str) and value.startswith("error: ")):
                return value
            if time.monotonic() >= end:
                raise TimeoutError("after %g s: %s" % (seconds, json.dumps(value)))
            time.sleep(0.1)

    def shot(self, path):
        png = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        return path

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def serve(b):
    for line in sys.stdin:
        cmd, _, rest = line.rstrip("\n").partition(" ")
        try:
            if cmd == "open":
                args = rest.split()
                value = b.open(args[0], *map(int, args[1:3]))
            elif cmd == "header":
                name, _, b.headers[name] = rest.partition(" ")
                value = None
            elif cmd == "eval":
                value = b.eval(rest)
            elif cmd == "wait":
                seconds, _, expr = rest.partition(" ")
                value = b.wait(float(seconds), expr)
            elif cmd == "shot":
                value = b.shot(rest)
            elif cmd == "errors":
                value = b.errors
            elif cmd == "quit":
                print("ok null", flush=True)
                return
            else:
                raise RuntimeError("unknown command " + cmd)
            print("ok " + json.dumps(value), flush=True)
        except Exception as e:  # one line per command, whatever happened
            print("fail %s: %s" % (type(e).__name__, str(e).replace("\n", " ")), flush=True)


def main():
    # The test's cleanup sends SIGTERM: the browser must go with this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    b = Browser()
    try:
        serve(b)
    finally:
        b.close()


if __name__ == "__main__":
    main()
