"""tests/server/nodes.py — real `weft serve` processes for the server and
client tests: each on a loopback port (a free one unless given), with its
own data directory, log and optional config file. Every node a run starts
is killed by kill_started() at the end of the run whatever failed, and dies
with the test script should that be killed (PR_SET_PDEATHSIG), as CTest
does at a test's timeout. Set WEFT to the weft binary before starting one.
Also HttpUpstream, the loopback HTTP server the outbound HTTP tests fetch
from.
"""
import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

WEFT = None
STARTED = []


def die_with_parent():
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


_GIVEN_PORTS = set()


def free_port():
    """A loopback port free now, never one this process was given before:
    the kernel may hand the same ephemeral port to two binds in a row once
    the first socket closed, and two servers of one test then collide."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


def kill_started():
    for proc in STARTED:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def session(weft, prefix):
    """A test script's run: sets WEFT and yields a fresh temporary directory
    (named PREFIX...) for its nodes; on leaving, whatever failed, every node
    started is killed and the directory removed."""
    global WEFT
    WEFT = weft
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        yield tmp
    finally:
        kill_started()
        shutil.rmtree(tmp, ignore_errors=True)


def print_logs(directory, tail=3000):
    """Prints the end of every node log (NAME-log) in directory: what a
    failed test shows of its nodes."""
    for name in sorted(os.listdir(directory)):
        if name.endswith("-log"):
            with open(os.path.join(directory, name), errors="replace") as f:
                print("---", name, "---\n" + f.read()[-tail:])


class Node:
    """A `weft serve` process; call stop() when done (kill_started() backs it up)."""

    def __init__(self, data, port=0, extra=(), config=None):
        self.data = data
        self.port_file = data + "-port"
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        args = [WEFT, "serve", "--data-dir", data, "--listen", "127.0.0.1:%d" % port,
                "--port-file", self.port_file, *extra]
        if config is not None:
            path = data + "-config.json"
            with open(path, "w") as f:
                json.dump(config, f)
            args += ["--config", path]
        self.log = open(data + "-log", "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log,
                                     preexec_fn=die_with_parent)
        STARTED.append(self.proc)
        deadline = time.time() + 30
        while not os.path.exists(self.port_file) or os.path.getsize(self.port_file) == 0:
            if self.proc.poll() is not None or time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("weft serve did not start: " + open(data + "-log").read())
            time.sleep(0.02)
        self.port = int(open(self.port_file).read())
        self.url = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, timeout=30):
        """(status, headers, body bytes) of one request on a new connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, dict(r.getheaders()), data
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None):
        """(status, the answer parsed as JSON, or {"unparsed": text})."""
        status, hdrs, data = self.request(method, path, body, headers)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = {"unparsed": data.decode("latin-1")}
        return status, doc

    def post(self, path, body):
        status, hdrs, data = self.request("POST", path, body)
        return status, data

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


FAILS = []


def sse_read(node, path, want, headers=None, timeout=10):
    """Reads events from an SSE stream until `want` events came; returns them
    as (id, event, data) tuples."""
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=timeout)
    req = "GET %s HTTP/1.1\r\nHost: x\r\n" % path
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    sock.sendall((req + "\r\n").encode())
    buf, events = b"", []
    deadline = time.time() + timeout
    try:
        while len(events) < want and time.time() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                fields = {}
                for line in block.split(b"\n"):
                    if b": " in line and not line.startswith(b":"):
                        k, v = line.split(b": ", 1)
                        fields[k.decode().split("\r\n")[-1]] = v.decode()
                if "data" in fields:
                    events.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
    finally:
        sock.close()
    return events


def check(cond, what):
    """Prints ok/FAIL for one check of a test script; report() counts them."""
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        FAILS.append(what)


def report():
    """The script's exit status: 1 when a check failed, else 0."""
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("all checks passed")
    return 0


class HttpUpstream:
    """An HTTP server in this process on a free loopback port, for the tests
    of guests' outbound HTTP: /ok/echo answers with the method, the path,
    the x-test header and the body it got; /ok/big with `big` bytes;
    /ok/slow only when close() is called; /ok/redirect with a 302 to
    /ok/echo; /ok/missing with a 404; every answer has X-Upstream: yes.
    .port, .count (the requests it got); close() stops it (call it in a
    finally: a request left on /ok/slow is released then)."""

    def __init__(self, big=2 << 20):
        self.count = 0
        self.released = threading.Event()
        up = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self, status, body, extra=()):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Upstream", "yes")
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the node hung up (a response over its bound)

            def handle_any(self):
                up.count += 1
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.path.startswith("/ok/slow"):
                    up.released.wait(120)
                    return
                if self.path.startswith("/ok/big"):
                    return self.answer(200, b"x" * big)
                if self.path.startswith("/ok/redirect"):
                    return self.answer(302, b"moved", [("Location", "/ok/echo")])
                if self.path.startswith("/ok/missing"):
                    return self.answer(404, b"no such thing")
                self.answer(200, b"%s %s x-test=%s body=%s" % (
                    self.command.encode(), self.path.encode(),
                    (self.headers.get("X-Test") or "-").encode(), body))

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
