#!/usr/bin/env python3
"""tests/faasm/redis_test.py — Faasm's global state on a real Redis server
(docs/faasm.md): a redis-server on a free loopback port, two `weft serve`
nodes (one given --state-redis, one the config key "state_redis") sharing
values, appended values and global locks through it, and a Redis restart in the middle of a run (the calls in
between fail with a clear message, nothing is corrupted, and the nodes
recover by themselves once it is back); a "state_redis" that is not a
string is refused. Skips (77) without redis-server.

usage: redis_test.py WEFT GUEST_WASM
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        FAILS.append(what)


free_port = nodes.free_port


class Redis:
    def __init__(self, port, dir):
        self.port, self.dir = port, dir
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=nodes.die_with_parent)
        nodes.STARTED.append(self.proc)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


def call(node, ctx, inp):
    """(status, output or error message) of a view call of _start."""
    q = urllib.parse.urlencode({"input": inp})
    status, doc = node.json("GET", "/v1/contexts/%s/call/_start?%s" % (ctx, q))
    if status == 200:
        return status, doc.get("output", "")
    return status, str(doc)


def main():
    weft, guest = sys.argv[1], sys.argv[2]
    if not shutil.which("redis-server"):
        print("SKIP: redis-server is not installed (Debian package redis-server; "
              "scripts/install-deps.sh installs it)")
        return 77
    with nodes.session(weft, "weft-faasm-redis-") as tmp:
        redis = Redis(free_port(), tmp)
        url = "redis://127.0.0.1:%d" % redis.port
        a = nodes.Node(os.path.join(tmp, "a"), extra=("--no-sync", "--state-redis", url))
        # b names the server in its config file ("state_redis"), not --state-redis.
        b = nodes.Node(os.path.join(tmp, "b"), extra=("--no-sync",), config={"state_redis": url})
        wasm = open(guest, "rb").read()
        for n in (a, b):
            st, doc = n.json("POST", "/v1/apps?name=faasm_kv", wasm)
            check(st in (200, 201), "deploy on %s: %s" % (n.url, doc))
            st, doc = n.json("POST", "/v1/contexts",
                             '{"app": "%s", "name": "s"}' % doc["id"])
            check(st in (200, 201), "context on %s: %s" % (n.url, doc))

        check(call(a, "s", "set hello") == (200, ""), "node a writes and pushes k")
        check(call(b, "s", "get") == (200, "hello"),
              "node b (config key state_redis) pulls k from Redis")
        check(call(b, "s", "set world!") == (200, ""), "node b writes k back")
        check(call(a, "s", "get") == (200, "world!"), "node a sees node b's value")
        for v in ("x1", "y2", "z3"):
            call(a if v != "y2" else b, "s", "append " + v)
        check(call(b, "s", "list 3") == (200, "x1y2z3"), "appended values from both nodes")
        check(call(a, "s", "lock") == (200, "locked"), "a global lock taken and released")
        # A lock left held by a call is released when the call ends.
        check(call(a, "s", "hold")[0] == 200, "a call that ends holding the global lock")
        check(call(b, "s", "lock") == (200, "locked"), "the other node gets the lock after it")

        # Redis goes away: calls that need it fail clearly; the rest of the
        # node is fine; once it is back, the nodes reconnect by themselves.
        redis.stop()
        st, msg = call(a, "s", "set lost")
        check(st == 422 and "redis" in msg, "with Redis down a push fails naming it: %s" % msg)
        redis.start()  # an empty server: nothing persisted
        st, out = call(b, "s", "get")
        check(st == 200 and out == "", "after the restart the value is gone, not garbage: %r" % out)
        check(call(a, "s", "set again") == (200, ""), "node a pushes again after the restart")
        check(call(b, "s", "get") == (200, "again"), "node b reads it: both recovered")
        a.stop()
        b.stop()
        redis.stop()
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"state_redis": 6379}')
        r = subprocess.run([weft, "serve", "--no-sync", "--data-dir", os.path.join(tmp, "c"),
                            "--config", bad], capture_output=True, timeout=30)
        check(r.returncode == 2 and b"state_redis" in r.stderr,
              "a state_redis that is not a string is refused: %r" % r.stderr)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
