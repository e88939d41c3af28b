"""Headless Chromium driven over the DevTools protocol, standard library only.

Starts Debian's chromium (--headless, a new empty profile, remote debugging
on a port it picks itself and writes to DevToolsActivePort), connects to
the page's WebSocket with a minimal RFC 6455 client, and offers what the
dashboard test needs: navigate, evaluate, screenshot, the viewport size,
and every console message, exception and log entry the page produced.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--hide-scrollbars", "--remote-debugging-port=0",
]


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class WebSocket:
    """A client WebSocket: text frames out (masked), frames in."""

    def __init__(self, url, timeout):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise OSError("websocket: closed during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise OSError("websocket: handshake refused: %r" % head[:200])
        self.buf = b""

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise OSError("websocket: connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message (fragments joined); None on close."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if op == 0x8:
                return None
            if op == 0x9:           # ping: answer, go on
                continue
            if op in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8", "replace")

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Browser:
    """One headless Chromium with one page."""

    def __init__(self, log_path, width=1440, height=900):
        exe = find_chromium()
        if exe is None:
            raise RuntimeError("chromium not found: install Debian's "
                               "chromium package (make deps)")
        self.profile = tempfile.mkdtemp(prefix="paced-chromium-")
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [exe] + CHROMIUM_FLAGS + [f"--user-data-dir={self.profile}",
                                      f"--window-size={width},{height}",
                                      "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        port = self._port(30)
        page = None
        deadline = time.time() + 15
        while page is None and time.time() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                        timeout=5) as r:
                targets = json.load(r)
            page = next((t for t in targets if t.get("type") == "page"), None)
            if page is None:
                time.sleep(0.1)
        if page is None:
            raise RuntimeError("chromium: no page target")
        self.ws = WebSocket(page["webSocketDebuggerUrl"], 10)
        self.next_id = 0
        self.events = []            # (method, params), in arrival order
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.viewport(width, height)

    def _port(self, seconds):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.proc.returncode}")
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("chromium wrote no DevToolsActivePort")

    def call(self, method, params=None, timeout=20):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method,
                                 "params": params or {}}))
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer in {timeout} s")
            self.ws.settimeout(left)
            text = self.ws.recv()
            if text is None:
                raise OSError("chromium closed the connection")
            msg = json.loads(text)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append((msg["method"], msg.get("params", {})))

    def viewport(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": False})

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expr):
        """The value of a JavaScript expression (JSON-able), or raises on
        an exception thrown by it."""
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s" % (
                expr[:60], r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def wait_for(self, expr, seconds, what):
        """Polls expr until it is truthy; returns its value or raises."""
        deadline = time.time() + seconds
        last = None
        while time.time() < deadline:
            try:
                last = self.evaluate(expr)
            except RuntimeError as e:   # the page is still loading
                last = str(e)
            else:
                if last:
                    return last
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {seconds} s waiting for {what}"
                           f" (last: {last!r})")

    def screenshot(self, path, full_page=False):
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("[document.documentElement.scrollWidth,"
                                 "document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0],
                              "height": size[1], "scale": 1}
        data = self.call("Page.captureScreenshot", params, timeout=30)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def problems(self):
        """Every error the page reported: exceptions, console.error and
        console.assert calls, and error-level log entries (network failures,
        Content-Security-Policy refusals), as (index in self.events, kind,
        text, url) tuples."""
        out = []
        for i, (method, p) in enumerate(self.events):
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                ex = d.get("exception", {})
                out.append((i, "exception", ex.get("description") or
                            d.get("text", ""), d.get("url", "")))
            elif method == "Runtime.consoleAPICalled" and \
                    p.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", "")))
                                for a in p.get("args", []))
                out.append((i, "console", text, ""))
            elif method == "Log.entryAdded":
                e = p.get("entry", {})
                if e.get("level") == "error":
                    out.append((i, e.get("source", "log"), e.get("text", ""),
                                e.get("url", "")))
        return out

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError, ValueError):
            pass
        self.ws.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
