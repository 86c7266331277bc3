"""tests/server/nodes.py — real `weft serve` processes for the server and
client tests: each on a loopback port (a free one unless given), with its
own data directory, log and optional config file. Every node a run starts
is killed by kill_started() at the end of the run whatever failed, and dies
with the test script should that be killed (PR_SET_PDEATHSIG), as CTest
does at a test's timeout. Set WEFT to the weft binary before starting one.
"""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

WEFT = None
STARTED = []


def die_with_parent():
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


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
