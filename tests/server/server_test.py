#!/usr/bin/env python3
"""tests/server/server_test.py WEFT APP_WASM CASE — `weft serve` end to end.

Starts real nodes (weft serve) on free loopback ports with temporary data
directories, talks HTTP to them with the standard library only, and stops
them at the end, also when a check fails. One CASE per CTest test:

  routes    every route, status and error code of docs/http.md
  calls     write calls, views, JSON arguments, traps, exits, raw output
  events    SSE: live events, resume with Last-Event-ID across a restart
  logs      every call's log lines kept (a trap's, a view's), paged and followed
  lagging   a subscriber that reads nothing is cut off with event: lagged
  heartbeat an event stream's heartbeat comes while calls keep completing
  auth      tokens and scopes; a non-loopback address needs a token; a
            refused request's small body is read before the refusal
  signed    ed25519-signed calls: the signer is the caller; bad, stale and
            replayed signatures are refused
  args      WASI arguments: ?arg=A&arg=B (and weft call --arg) reach a
            command's argv in order, escapes decoded; a signature covers them
  views     a long view blocks neither writes nor other views
  tier      hot functions are compiled by default (tier auto), never under
            "tier": "interp" (the /metrics gauges)
  hostile   oversized bodies, malformed JSON, garbage bytes, idle clients,
            many subscribers: the node keeps serving
  shutdown  SIGTERM answers the calls in flight, then exits 0
  crash     kill -9 under concurrent writes to eight contexts (their guests side by
            side on the workers), N rounds: every acknowledged write survives in
            its context, nothing half-applied
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import nodes
from nodes import Node, kill_started, sse_read

WEFT, APP = sys.argv[1], sys.argv[2]
nodes.WEFT = WEFT
CASE = sys.argv[3]
CRASH_ROUNDS = int(os.environ.get("WEFT_CRASH_ROUNDS", "20"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def rss_kib(node):
    with open("/proc/%d/status" % node.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def app_bytes():
    with open(APP, "rb") as f:
        return f.read()


def deploy(node, name="app"):
    status, doc = node.json("POST", "/v1/apps?name=" + name, app_bytes())
    assert status == 201, (status, doc)
    return doc["id"]


def setup(node, ctx="c"):
    app = deploy(node)
    status, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": ctx}))
    assert status == 201, (status, doc)
    return app


def error_code(doc):
    return (doc or {}).get("error", {}).get("code")


# ---- cases ---------------------------------------------------------------------


def case_routes(tmp):
    node = Node(os.path.join(tmp, "d"))
    try:
        s, h, body = node.request("GET", "/health")
        check(s == 200 and body == b"ok\n", "/health answers ok")
        s, h, body = node.request("GET", "/ready")
        check(s == 200, "/ready answers 200 while serving")
        s, doc = node.json("GET", "/v1/node")
        check(s == 200 and len(doc["id"]) == 64 and doc["version"], "/v1/node: id and version")
        check(isinstance(doc.get("uptime_s"), int) and doc.get("data_dir_bytes", 0) > 0,
              "/v1/node: uptime and data dir size")
        s, doc = node.json("GET", "/nope")
        check(s == 404 and error_code(doc) == "NOT_FOUND", "unknown route: 404 NOT_FOUND")
        s, h, body = node.request("PUT", "/v1/apps")
        check(s == 405 and "POST" in h.get("Allow", ""), "wrong method: 405 with Allow")
        check(error_code(json.loads(body)) == "METHOD_NOT_ALLOWED", "405 code")

        s, doc = node.json("POST", "/v1/apps", b"\x00asm\x01\x00\x00\x00\x7f")
        check(s == 422 and error_code(doc) == "BAD_MODULE" and "offset" in doc["error"]["message"],
              "a malformed module: 422 BAD_MODULE naming the offset")
        s, doc = node.json("POST", "/v1/apps", b"")
        check(s == 400 and error_code(doc) == "BAD_REQUEST", "an empty deploy: 400")
        s, doc = node.json("POST", "/v1/apps?name=bad%20name", app_bytes())
        check(s == 400, "a bad app name: 400")
        s, doc = node.json("POST", "/v1/apps?name=app", app_bytes())
        check(s == 201 and len(doc["id"]) == 64 and doc["abi"] == "nx", "deploy: 201, id, abi")
        app = doc["id"]
        check(any(e["name"] == "put" and e["kind"] == "func" for e in doc["exports"]),
              "deploy lists the exports")
        check(any(i["module"] == "nx" for i in doc["imports"]), "deploy lists the imports")
        s, doc2 = node.json("POST", "/v1/apps", app_bytes())
        check(s == 201 and doc2["id"] == app, "deploying the same bytes again: same id")
        s, doc = node.json("GET", "/v1/apps")
        check(s == 200 and [a["id"] for a in doc["apps"]] == [app], "app list")
        s, doc = node.json("GET", "/v1/apps/" + app)
        check(s == 200 and doc["name"] == "app" and doc["size"] == len(app_bytes()), "app get")
        s, doc = node.json("GET", "/v1/apps/" + "0" * 64)
        check(s == 404 and error_code(doc) == "NOT_FOUND", "unknown app: 404")

        s, doc = node.json("POST", "/v1/contexts", b'{"app": "x",')
        check(s == 400 and "column" in doc["error"]["message"], "malformed JSON: 400 with position")
        s, doc = node.json("POST", "/v1/contexts", b'{"name": "x"}')
        check(s == 400, "a context without an app: 400")
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": "0" * 64}))
        check(s == 404, "a context of an unknown app: 404")
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": "one"}))
        check(s == 201 and doc["name"] == "one" and doc["app"] == app, "context create: 201")
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": "one"}))
        check(s == 409 and error_code(doc) == "CONFLICT", "the same name again: 409 CONFLICT")
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app}))
        check(s == 201 and doc["name"].startswith("ctx-"), "a context without a name gets one")
        generated = doc["name"]
        s, doc = node.json("GET", "/v1/contexts")
        check(s == 200 and sorted(c["name"] for c in doc["contexts"]) == sorted(["one", generated]),
              "context list")
        s, doc = node.json("GET", "/v1/contexts/one")
        check(s == 200 and doc["app"] == app, "context get")
        s, doc = node.json("GET", "/v1/contexts/none")
        check(s == 404, "unknown context: 404")
        s, doc = node.json("GET", "/v1/contexts/bad%zzname")
        check(s == 400, "a bad %-escape in the path: 400")

        node.json("POST", "/v1/contexts/one/call/put", b"k1=v1")
        node.json("POST", "/v1/contexts/one/call/put", b"k2=v2")
        s, doc = node.json("GET", "/v1/contexts/one/kv?limit=1")
        check(s == 200 and doc["items"] == [{"key": "k1", "value": "v1"}] and doc["next"] == "k1",
              "kv: first page")
        s, doc = node.json("GET", "/v1/contexts/one/kv?limit=1&after=k1")
        check(s == 200 and doc["items"] == [{"key": "k2", "value": "v2"}] and doc["next"] is None,
              "kv: last page")
        s, doc = node.json("GET", "/v1/contexts/one/kv?prefix=k2")
        check(s == 200 and len(doc["items"]) == 1, "kv: prefix")
        s, doc = node.json("GET", "/v1/contexts/none/kv")
        check(s == 404, "kv of an unknown context: 404")
        node.json("POST", "/v1/contexts/" + generated + "/call/bin")  # keys a\0x, a\0y
        s, doc = node.json("GET", "/v1/contexts/%s/kv?limit=1" % generated)
        check(s == 200 and doc["items"] == [{"key_base64": "YQB4", "value": "1"}]
              and doc.get("next_base64") == "YQB4", "kv: a key that is not text, in base64")
        s, doc = node.json("GET", "/v1/contexts/%s/kv?limit=1&after_base64=YQB4" % generated)
        check(s == 200 and doc["items"] == [{"key_base64": "YQB5", "value": "2"}]
              and doc["next"] is None, "kv: paging past it with after_base64")
        s, doc = node.json("GET", "/v1/contexts/%s/kv?after_base64=!!" % generated)
        check(s == 400, "kv: a bad after_base64: 400")
        node.json("POST", "/v1/contexts/one/call/bump")
        node.json("POST", "/v1/contexts/one/call/bump")
        s, doc = node.json("GET", "/v1/contexts/one/crdt")
        check(s == 200 and doc["items"] == [{"key": "hits", "type": "gcounter"}] and doc["next"] is None,
              "crdt: keys with types")
        s, doc = node.json("GET", "/v1/contexts/one/crdt/hits")
        check(s == 200 and doc == {"type": "gcounter", "value": 2}, "crdt: a key's value")
        s, doc = node.json("GET", "/v1/contexts/one/crdt/nope")
        check(s == 404 and "nope" in doc["error"]["message"], "crdt: an unknown key: 404")
        s, doc = node.json("GET", "/v1/contexts/none/crdt")
        check(s == 404, "crdt of an unknown context: 404")

        s, doc = node.json("DELETE", "/v1/apps/" + app)
        check(s == 409 and error_code(doc) == "CONFLICT", "deleting a used app: 409")
        s, h, body = node.request("DELETE", "/v1/contexts/one")
        check(s == 204 and body == b"", "context delete: 204")
        s, doc = node.json("DELETE", "/v1/contexts/one")
        check(s == 404, "deleting it again: 404")
        node.request("DELETE", "/v1/contexts/" + generated)
        s, h, body = node.request("DELETE", "/v1/apps/" + app)
        check(s == 204, "app delete once unused: 204")

        s, h, body = node.request("GET", "/metrics")
        text = body.decode()
        check(s == 200 and "text/plain" in h.get("Content-Type", ""), "/metrics is text")
        for name in ("weft_calls_total", "weft_call_seconds_bucket", "weft_commits_total",
                     "weft_http_requests_total", "weft_sse_streams", "weft_store_bytes"):
            check(name in text, "/metrics has " + name)
        check('weft_calls_total{outcome="ok"} 5' in text, "/metrics counts the calls")
    finally:
        node.stop()


def case_calls(tmp):
    node = Node(os.path.join(tmp, "d"))
    try:
        setup(node)
        s, doc = node.json("POST", "/v1/contexts/c/call/put", b"a=1")
        check(s == 200 and doc["output"] == "" and doc["logs"] == ["stored a"],
              "a write call: 200, logs")
        check(doc["events"] == [{"seq": 1, "name": "put", "payload": "a"}], "its event, numbered")
        check(doc["fuel"] > 0 and doc["duration_us"] >= 0, "fuel and duration")
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=a")
        check(s == 200 and doc["output"] == "1", "a view reads the write")
        s, doc = node.json("GET", "/v1/contexts/c/call/put?input=b%3D2")
        check(s == 422 and "view" in doc["error"]["message"], "a view cannot write")
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=b")
        check(s == 422 and error_code(doc) == "EXIT", "and nothing was written")
        s, doc = node.json("POST", "/v1/contexts/c/call/echo", b"\xff\xfe raw")
        check(s == 200 and "output_base64" in doc, "output that is not UTF-8 comes as base64")
        # An answer with no logs, events or values is written without jansson
        # (calls.c answer_plain): the same keys and escapes.
        text = 'q"b\\s\n\t\x01\x1f\x7f \u00e9 / \u2211'
        s, h, body = node.request("POST", "/v1/contexts/c/call/echo", text.encode())
        doc = json.loads(body)
        check(s == 200 and doc["output"] == text and doc["logs"] == [] and doc["events"] == [] and
              sorted(doc) == ["call_id", "caller", "duration_us", "events", "fuel", "logs", "output"],
              "a plain answer: every key, the output escaped: %r" % body)
        check(b'q\\"b\\\\s\\n\\t\\u0001\\u001F\x7f \xc3\xa9 / ' in body and body.endswith(b"}\n"),
              "escaped as jansson escapes: %r" % body)
        s, doc = node.json("POST", "/v1/contexts/c/call/echo", b"nul\x00byte")
        check(s == 200 and "output_base64" in doc, "output with a NUL byte comes as base64")
        s, h, body = node.request("POST", "/v1/contexts/c/call/echo", b"bytes",
                                  {"Accept": "application/octet-stream"})
        check(s == 200 and body == b"bytes" and "Weft-Fuel" in h, "raw output with headers")
        s, doc = node.json("POST", "/v1/contexts/c/call/add", b"[40, 2]",
                           {"Content-Type": "application/json"})
        check(s == 200 and doc.get("values") == [42], "JSON arguments and values")
        s, doc = node.json("GET", "/v1/contexts/c/call/add?args=%5B20%2C%2022%5D")
        check(s == 200 and doc.get("values") == [42], "a view takes its arguments in ?args=")
        s, doc = node.json("POST", "/v1/contexts/c/call/add", b"[1]",
                           {"Content-Type": "application/json"})
        check(s == 400, "a wrong argument count: 400")
        s, doc = node.json("POST", "/v1/contexts/c/call/add", b"[1, 2.5]",
                           {"Content-Type": "application/json"})
        check(s == 400 and "argument 2" in doc["error"]["message"], "a float for an i32: 400")
        s, doc = node.json("POST", "/v1/contexts/c/call/put_then_trap")
        check(s == 422 and error_code(doc) == "TRAP" and doc["error"]["trap"] == "UNREACHABLE"
              and doc["error"]["rolled_back"] is True, "a trap: 422 TRAP, rolled back")
        bt = doc["error"].get("backtrace") or [{}]
        check(bt[0].get("name") == "put_then_trap" and isinstance(bt[0].get("func"), int),
              "a trap's backtrace, innermost frame first, named: %s" % bt)
        s, doc = node.json("POST", "/v1/contexts/c/call/put_then_exit")
        check(s == 422 and error_code(doc) == "EXIT" and doc["error"]["status"] == 3,
              "an exit: 422 EXIT with the status")
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=doomed")
        check(s == 422, "neither kept its write")
        s, doc = node.json("POST", "/v1/contexts/c/call/grow", b"8192")  # 512 MiB more
        check(s == 200 and doc["output"] == "-1", "a memory may not pass 256 MiB by default")
        s, doc = node.json("POST", "/v1/contexts/c/call/grow", b"16")
        check(s == 200 and doc["output"] != "-1", "below it, it grows")
        s, doc = node.json("POST", "/v1/contexts/c/call/nothing")
        check(s == 404 and "nothing" in doc["error"]["message"], "an unknown function: 404")
        s, doc = node.json("POST", "/v1/contexts/none/call/put", b"x=1")
        check(s == 404, "an unknown context: 404")

        # Concurrent writers: every call counted once (one writer, group commit).
        def writer():
            for _ in range(25):
                s, _ = node.json("POST", "/v1/contexts/c/call/count")
                check(s == 200, "concurrent count call")
        threads = [threading.Thread(target=writer) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=count")
        check(s == 200 and doc["output"] == "200", "200 concurrent writes: counter 200")
    finally:
        node.stop()


def case_args(tmp):
    """examples/distributed_status (a WASI command) over HTTP: argv from ?arg=."""
    status_wasm = os.environ["WEFT_STATUS_WASM"]
    node = Node(os.path.join(tmp, "d"))
    try:
        with open(status_wasm, "rb") as f:
            s, doc = node.json("POST", "/v1/apps?name=status", f.read())
        assert s == 201, doc
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "st"}))
        assert s == 201, doc
        base = "/v1/contexts/st/call/_start"
        s, doc = node.json("POST", base + "?arg=set&arg=ada&arg=in&arg=a+meeting%20%26%3D%C3%A9")
        check(s == 200 and doc["output"] == "", "a command with arguments: 200")
        s, doc = node.json("POST", base + "?arg=get&arg=ada")
        check(s == 200 and doc["output"] == "in a meeting &=\u00e9\n",
              "argv in order, '+' and escapes decoded: %r" % (doc,))
        s, doc = node.json("GET", base + "?arg=get&input=x&arg=ada")
        check(s == 200 and doc["output"] == "in a meeting &=\u00e9\n",
              "a view takes them too, other parameters between them ignored")
        s, doc = node.json("POST", base + "?arg=get&arg=&arg=x")
        check(s == 422 and error_code(doc) == "EXIT" and doc["error"]["status"] == 2,
              "an empty arg is an argument (argc 4: usage, exit 2)")
        s, doc = node.json("POST", base)
        check(s == 422 and doc["error"]["status"] == 2, "no arguments: argv[0] alone")
        s, doc = node.json("POST", base + "?arg=get&arg=a%00b")
        check(s == 400 and error_code(doc) == "BAD_REQUEST", "a zero byte in an arg: 400")
        s, doc = node.json("POST", base + "?" + "&".join(["arg=x"] * 257))
        check(s == 400 and "256" in doc["error"]["message"], "more than 256 args: 400")

        # A signature covers the path and the arg parameters as sent.
        seed = "22" * 32
        q = "?arg=set&arg=bob&arg=away"
        ts = int(time.time() * 1000)
        pk, sig = sign(seed, "POST", base + q, ts, b"")
        hdr = {"Weft-Signer": pk, "Weft-Timestamp": str(ts), "Weft-Signature": sig}
        s, doc = node.json("POST", base + q, None, hdr)
        check(s == 200 and doc.get("caller") == pk, "a signed call with args: 200 (%r)" % (doc,))
        pk, sig = sign(seed, "POST", base + q, ts + 1, b"")
        hdr = {"Weft-Signer": pk, "Weft-Timestamp": str(ts + 1), "Weft-Signature": sig}
        s, doc = node.json("POST", base + "?arg=set&arg=bob&arg=gone", None, hdr)
        check(s == 401 and error_code(doc) == "BAD_SIGNATURE", "a changed arg: 401")
        pk, sig = sign(seed, "POST", base, ts + 2, b"")
        hdr = {"Weft-Signer": pk, "Weft-Timestamp": str(ts + 2), "Weft-Signature": sig}
        s, doc = node.json("POST", base + q, None, hdr)
        check(s == 401, "args added to a signature made without them: 401")

        # weft call --arg: repeatable, in order; "--" ends the options.
        env = dict(os.environ, WEFT_NODE=node.url)
        def cli(*argv):
            p = subprocess.run([WEFT, "call", *argv], env=env, capture_output=True, timeout=60)
            return p.returncode, p.stdout.decode(), p.stderr.decode()
        rc, out, err = cli("st", "_start", "--arg", "set", "--arg", "cy", "--arg", "x&y=z %")
        check(rc == 0 and out == "", "weft call --arg: %d %r" % (rc, err))
        rc, out, err = cli("--view", "st", "_start", "--arg", "get", "--arg", "cy")
        check(rc == 0 and out == "x&y=z %\n", "weft call --view --arg reads it: %r" % out)
        rc, out, err = cli("st", "_start", "--arg", "get", "--arg", "nobody")
        check(rc == 1 and "no status for nobody" in err, "the command's exit status: %d" % rc)
        rc, out, err = cli("st", "_start", "--arg")
        check(rc == 2 and "--arg needs a value" in err, "--arg without a value: usage, 2")
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write("33" * 32 + "\n")
        rc, out, err = cli("--sign-key", key, "st", "_start", "--arg", "set", "--arg", "dee",
                           "--arg", "a/b c")
        check(rc == 0, "weft call --sign-key with --arg: %d %r" % (rc, err))
        rc, out, err = cli("st", "_start", "--arg", "get", "--arg", "dee")
        check(out == "a/b c\n", "the signed call's arguments arrived: %r" % out)
    finally:
        node.stop()


def case_events(tmp):
    data = os.path.join(tmp, "d")
    node = Node(data)
    try:
        setup(node)
        got = []
        t = threading.Thread(target=lambda: got.extend(sse_read(node, "/v1/contexts/c/events", 3)))
        t.start()
        time.sleep(0.3)  # subscribed (the stream reads the backlog first)
        for i in range(3):
            node.json("POST", "/v1/contexts/c/call/put", ("k%d=v" % i).encode())
        t.join(15)
        check([e[0] for e in got] == ["1", "2", "3"], "live events 1, 2, 3 in order: %r" % got)
        check(got and got[0][1] == "put" and got[0][2]["payload"] == "k0", "event name and payload")
        node.json("POST", "/v1/contexts/c/call/put_then_trap")  # commits no event
        s, doc = node.json("GET", "/v1/contexts/none/events")
        check(s == 404, "events of an unknown context: 404")
    finally:
        node.stop()
    node = Node(data)  # a restart: ids go on, history is kept
    try:
        node.json("POST", "/v1/contexts/c/call/put", b"k3=v")
        got = sse_read(node, "/v1/contexts/c/events", 2, {"Last-Event-ID": "2"})
        check([e[0] for e in got] == ["3", "4"], "resume after 2 across a restart: 3, 4: %r" % got)
        got = sse_read(node, "/v1/contexts/c/events?after=3", 1)
        check([e[0] for e in got] == ["4"], "?after=3 gives 4")
        s, doc = node.json("GET", "/v1/contexts/c/events", headers={"Last-Event-ID": "x"})
        check(s == 400, "a bad Last-Event-ID: 400")
        # Deleting the context ends its streams with `event: deleted`.
        got = []
        t = threading.Thread(target=lambda: got.extend(
            sse_read(node, "/v1/contexts/c/events?after=4", 1)))
        t.start()
        time.sleep(0.3)
        node.request("DELETE", "/v1/contexts/c")
        t.join(15)
        check([e[1] for e in got] == ["deleted"] and not t.is_alive(),
              "a deleted context ends its event stream: %r" % got)
    finally:
        node.stop()


def case_logs(tmp):
    node = Node(os.path.join(tmp, "d"))
    try:
        setup(node)
        s, put = node.json("POST", "/v1/contexts/c/call/put", b"a=1")
        check(s == 200 and len(put.get("call_id", "")) == 16, "a call answers its call_id")
        s, trap = node.json("POST", "/v1/contexts/c/call/put_then_trap")
        check(s == 422 and trap["error"]["logs"] == ["about to trap"], "a trap answers its logs")
        s, doc = node.json("GET", "/v1/contexts/c/logs")
        lines = doc.get("logs", [])
        check(s == 200 and [l["msg"] for l in lines] == ["stored a", "about to trap"],
              "both calls' lines are kept: %r" % lines)
        check(lines and lines[0]["call_id"] == put["call_id"] and lines[0]["level"] == "stderr",
              "a line carries its call id and level")
        check(len(lines) > 1 and lines[1]["call_id"] == trap["error"]["call_id"]
              and lines[1]["level"] == "log", "the trapped call's line too")
        check(doc.get("last") == 2, "last line number")
        got = []
        t = threading.Thread(target=lambda: got.extend(
            sse_read(node, "/v1/contexts/c/logs?follow=1&after=1", 2)))
        t.start()
        time.sleep(0.3)
        node.json("GET", "/v1/contexts/c/call/get?input=a")  # a view logs "get a"
        t.join(15)
        check([e[2]["msg"] for e in got] == ["about to trap", "get a"],
              "follow: the backlog after 1, then a view's line as it comes: %r" % got)
        s, doc = node.json("GET", "/v1/contexts/c/logs?after=2&limit=1")
        check(s == 200 and [l["msg"] for l in doc["logs"]] == ["get a"], "paging with after")
        s, doc = node.json("GET", "/v1/contexts/none/logs")
        check(s == 404, "logs of an unknown context: 404")
    finally:
        node.stop()


def case_lagging(tmp):
    # A subscriber that reads nothing: once its stream's buffer (4 KiB here)
    # is full it gets `event: lagged` and is cut off; writers never wait.
    node = Node(os.path.join(tmp, "d"), config={"sse_buffer_bytes": 4096})
    try:
        setup(node)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", node.port))
        sock.sendall(b"GET /v1/contexts/c/events HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        key = "k" * 1000
        failed = []

        def writer(w):
            for i in range(400):
                s, _ = node.json("POST", "/v1/contexts/c/call/put", ("%s%d_%d=v" % (key, w, i)).encode())
                if s != 200:
                    failed.append(s)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        check(not failed, "3,200 writes answered while a subscriber reads nothing")
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):  # the stream's last chunk
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        check(b"event: lagged" in data[-200:] and data.endswith(b"\r\n0\r\n\r\n"),
              "the stalled subscriber got event: lagged, then the end of its stream")
        check(data.count(b"event: put") < 3200, "it did not get every event")
    finally:
        node.stop()


def case_auth(tmp):
    admin, caller, reader = "a" * 20 + "admin", "c" * 20 + "call", "r" * 20 + "read"
    cfg = {"tokens": [{"token": admin, "scopes": ["admin", "call", "read"]},
                      {"token": caller, "scopes": ["call"]},
                      {"token": reader, "scopes": ["read"]}]}
    node = Node(os.path.join(tmp, "d"), config=cfg)
    bearer = lambda t: {"Authorization": "Bearer " + t}
    try:
        s, doc = node.json("GET", "/v1/apps")
        check(s == 401 and error_code(doc) == "UNAUTHORIZED", "no token: 401")
        s, doc = node.json("GET", "/v1/apps", headers=bearer("wrong-token-xxxxxxxxx"))
        check(s == 401, "an unknown token: 401")
        s, doc = node.json("POST", "/v1/apps", app_bytes(), bearer(reader))
        check(s == 403 and error_code(doc) == "FORBIDDEN", "read token deploying: 403")
        s, doc = node.json("POST", "/v1/apps", app_bytes(), bearer(admin))
        check(s == 201, "admin token deploys")
        app = doc["id"]
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": "c"}),
                           bearer(caller))
        check(s == 403, "call token creating a context: 403")
        node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": "c"}), bearer(admin))
        s, doc = node.json("POST", "/v1/contexts/c/call/put", b"a=1", bearer(caller))
        check(s == 200, "call token calls")
        s, doc = node.json("POST", "/v1/contexts/c/call/put", b"a=1", bearer(reader))
        check(s == 403, "read token calling: 403")
        s, doc = node.json("GET", "/v1/contexts/c/kv", headers=bearer(reader))
        check(s == 200 and len(doc["items"]) == 1, "read token reads")
        s, h, body = node.request("GET", "/health")
        check(s == 200, "/health needs no token")
        refused_body_then_keep_alive(node, bearer(reader))
    finally:
        node.stop()
    # No token: a non-loopback address is refused before anything starts.
    r = subprocess.run([WEFT, "serve", "--data-dir", os.path.join(tmp, "e"), "--listen",
                        "0.0.0.0:0"], capture_output=True, timeout=30)
    check(r.returncode == 2 and b"token" in r.stderr, "0.0.0.0 without tokens: exit 2, says why")
    r = subprocess.run([WEFT, "serve", "--bogus"], capture_output=True, timeout=30)
    check(r.returncode == 2 and b"--help" in r.stderr, "unknown option: exit 2 and a hint")
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"tokens": [{"token": "short", "scopes": ["admin"]}]}')
    r = subprocess.run([WEFT, "serve", "--data-dir", os.path.join(tmp, "f"), "--config", bad],
                       capture_output=True, timeout=30)
    check(r.returncode == 2 and b"16 characters" in r.stderr, "a short token is refused")


def read_response(sock):
    """(status, body) of one HTTP/1.1 response with a Content-Length, read
    off a raw socket; (0, b"") when the connection ends first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return 0, b""
        if not chunk:
            return 0, b""
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split()[1]), body


def refused_body_then_keep_alive(node, reader):
    """A request refused at its headers (403: a read token deploying) whose
    body the client is still sending: the node reads and drops the body and
    answers after it, on a connection that stays open, so the client never
    writes into a closed connection ("Broken pipe" instead of the 403, as
    e2e.client.auth once got). The body goes in two pieces, the second
    after the node has had the headers long enough to answer them at once,
    as it did: then the connection was closed and the second piece and the
    next request met a closed socket."""
    body = b"\0asm" + b"z" * (600 * 1024)
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    try:
        head = ("POST /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (reader["Authorization"], len(body)))
        sock.sendall(head.encode() + body[:1000])
        time.sleep(0.3)
        sent = True
        try:
            sock.sendall(body[1000:])
        except OSError:
            sent = False
        check(sent, "a refused request's body can be sent in full")
        s, data = read_response(sock)
        check(s == 403 and b"FORBIDDEN" in data, "and its 403 comes after it: %d %r" % (s, data))
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            s, data = read_response(sock)
        except OSError:
            s = 0
        check(s == 200, "the connection stays usable for the next request: %d" % s)
    finally:
        sock.close()
    # With Expect: 100-continue the refusal comes at once and no body is sent.
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    try:
        sock.sendall(("POST /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                      "Expect: 100-continue\r\nContent-Length: 9000000\r\n\r\n"
                      % reader["Authorization"]).encode())
        s, data = read_response(sock)
        check(s == 403, "Expect: 100-continue: 403 before the body: %d" % s)
    finally:
        sock.close()


def sign(seed, method, path, ts, data):
    out = subprocess.run([os.environ["WEFT_SIGN_TOOL"], seed, method, path, str(ts)], input=data,
                         capture_output=True, check=True).stdout.decode().split()
    return out[0], out[1]


def case_signed(tmp):
    node = Node(os.path.join(tmp, "d"))
    try:
        setup(node)
        s, doc = node.json("GET", "/v1/node")
        node_id = doc["id"]
        s, doc = node.json("POST", "/v1/contexts/c/call/echo", b"plain")
        check(s == 200 and doc.get("caller") == node_id, "an unsigned call runs as the node")
        seed = "11" * 32
        path, body = "/v1/contexts/c/call/echo", b"signed input"
        ts = int(time.time() * 1000)
        pk, sig = sign(seed, "POST", path, ts, body)
        hdr = {"Weft-Signer": pk, "Weft-Timestamp": str(ts), "Weft-Signature": sig}
        s, doc = node.json("POST", path, body, hdr)
        check(s == 200 and doc.get("caller") == pk and doc["output"] == "signed input",
              "a signed call runs as its signer")
        s, doc = node.json("POST", path, body, hdr)
        check(s == 401 and error_code(doc) == "BAD_SIGNATURE" and "replay" in doc["error"]["message"],
              "the same signed request again: a replay, 401")
        ts2 = ts + 1
        pk, sig = sign(seed, "POST", path, ts2, body)
        hdr = {"Weft-Signer": pk, "Weft-Timestamp": str(ts2), "Weft-Signature": sig}
        s, doc = node.json("POST", path, b"other input", hdr)
        check(s == 401 and "does not verify" in doc["error"]["message"], "a changed body: 401")
        s, doc = node.json("POST", "/v1/contexts/c/call/put", body, hdr)
        check(s == 401, "a signature for another path: 401")
        old = ts - 5 * 60 * 1000
        pk, sig = sign(seed, "POST", path, old, body)
        s, doc = node.json("POST", path, body, {"Weft-Signer": pk, "Weft-Timestamp": str(old),
                                                 "Weft-Signature": sig})
        check(s == 401 and "Timestamp" in doc["error"]["message"], "a stale timestamp: 401")
        s, doc = node.json("POST", path, body, {"Weft-Signer": pk})
        check(s == 401 and "together" in doc["error"]["message"], "a partial set of headers: 401")
        vpath = "/v1/contexts/c/call/echo"
        ts3 = ts + 2
        pk, sig = sign(seed, "GET", vpath, ts3, b"view input")
        s, doc = node.json("GET", vpath + "?input=view+input", None,
                           {"Weft-Signer": pk, "Weft-Timestamp": str(ts3), "Weft-Signature": sig})
        check(s == 200 and doc.get("caller") == pk and doc["output"] == "view input",
              "a signed view covers its input")
        # Percent-encoded names: decoded once, %2F stays inside its segment.
        s, app = node.json("GET", "/v1/apps")
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app["apps"][0]["id"],
                                                               "name": "a/b%c"}))
        check(s == 201, "a context named a/b%c")
        s, doc = node.json("GET", "/v1/contexts/a%2Fb%25c")
        check(s == 200 and doc.get("name") == "a/b%c", "reached as a%2Fb%25c")
    finally:
        node.stop()


def case_heartbeat(tmp):
    """An event stream gets its heartbeat while calls keep completing: each
    finished call used to wake the heartbeat thread, which then waited a
    whole period again, so under a steady load no heartbeat came."""
    node = Node(os.path.join(tmp, "d"), config={"heartbeat_ms": 400})
    try:
        setup(node)
        sock = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        sock.sendall(b"GET /v1/contexts/c/events HTTP/1.1\r\nHost: x\r\n\r\n")
        seen, stop, calls = [b""], threading.Event(), [0]

        def load():
            conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
            while not stop.is_set():
                conn.request("GET", "/v1/contexts/c/call/echo?input=x")
                conn.getresponse().read()
                calls[0] += 1
        t = threading.Thread(target=load)
        t.start()
        deadline = time.time() + 20  # 50 periods
        try:
            sock.settimeout(1)
            while b": heartbeat" not in seen[0] and time.time() < deadline:
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                seen[0] += chunk
        finally:
            stop.set()
            t.join(30)
            sock.close()
        check(b": heartbeat" in seen[0] and calls[0] > 0,
              "a heartbeat came while %d calls completed: %r" % (calls[0], seen[0][-200:]))
    finally:
        node.stop()


def case_hostile(tmp):
    node = Node(os.path.join(tmp, "d"), config={"max_app_bytes": 200000, "max_call_bytes": 1000,
                                                "idle_timeout_s": 2, "heartbeat_ms": 500})
    try:
        setup(node)
        # A declared body over the limit: 413 at once, body never sent.
        sock = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        sock.sendall(b"POST /v1/contexts/c/call/echo HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        head = sock.recv(4096)
        sock.close()
        check(head.startswith(b"HTTP/1.1 413"), "a declared 100 MB body: 413 at once")
        s, doc = node.json("POST", "/v1/contexts/c/call/echo", b"x" * 5000)
        check(s == 413 and error_code(doc) == "TOO_LARGE", "a call body over the limit: 413")
        # Chunked, undeclared, over the limit.
        sock = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        sock.sendall(b"POST /v1/contexts/c/call/echo HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(10):
                sock.sendall(b"400\r\n" + b"y" * 1024 + b"\r\n")
        except OSError:
            pass
        try:
            head = sock.recv(4096)
        except OSError:
            head = b""
        sock.close()
        check(head.startswith(b"HTTP/1.1 413") or head == b"", "chunked over the limit: cut off")
        # Garbage bytes, and clients that connect and say nothing.
        for junk in (b"\x00\xff" * 100, b"GET\r\n\r\n", b"HELLO / HTTP/9.9\r\n\r\n" * 3,
                     b"POST /v1/apps HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
            sock = socket.create_connection(("127.0.0.1", node.port), timeout=2)
            try:
                sock.sendall(junk)
                sock.recv(4096)
            except OSError:
                pass
            sock.close()
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        rss0 = rss_kib(node)
        idle = []
        for _ in range(1000):
            idle.append(socket.create_connection(("127.0.0.1", node.port), timeout=10))
        subscribers = []
        for _ in range(500):
            sck = socket.create_connection(("127.0.0.1", node.port), timeout=10)
            sck.sendall(b"GET /v1/contexts/c/events HTTP/1.1\r\nHost: x\r\n\r\n")
            subscribers.append(sck)
        s, doc = node.json("POST", "/v1/contexts/c/call/put", b"still=alive")
        check(s == 200, "with 1000 idle clients and 500 subscribers a call works")
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=still")
        check(s == 200 and doc["output"] == "alive", "and a view")
        s, h, body = node.request("GET", "/metrics")
        check(b"weft_sse_streams 500" in body, "500 open streams counted")
        rss1 = rss_kib(node)
        check(rss1 < rss0 + 64 * 1024, "RSS stays bounded: %d KiB before, %d KiB with 1500 clients"
              % (rss0, rss1))
        for sck in idle + subscribers:
            sck.close()
        # Slowloris: clients that send a header a byte at a time keep their own
        # connection only; others are served meanwhile, and a client that
        # stops sending is closed once idle (idle_timeout_s 2 here).
        slow = [socket.create_connection(("127.0.0.1", node.port), timeout=30) for _ in range(50)]
        for i, ch in enumerate(b"GET /health HTTP/1.1\r\nX-Slow: "):
            for sck in slow:
                sck.sendall(bytes([ch]))
            if i % 8 == 0:
                s, doc = node.json("GET", "/v1/contexts/c/call/get?input=still")
                check(s == 200, "served while 50 slow clients dribble headers")
        closed = 0
        for sck in slow:
            try:
                closed += sck.recv(1) == b""  # waits up to the socket's 30 s safety timeout
            except OSError:
                closed += 1
            sck.close()
        check(closed == 50, "slow clients that go quiet are closed (%d of 50)" % closed)
        # Random requests (seeded): every one gets an HTTP answer or a closed
        # connection, and the node stays up and correct.
        import random
        rnd = random.Random(int(os.environ.get("WEFT_FUZZ_SEED", "7")))
        # They aim at a context of their own, f (they may well delete it).
        app = json.loads(node.request("GET", "/v1/apps")[2])["apps"][0]["id"]
        node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": "f"}))
        paths = ["/v1/apps", "/v1/apps/" + "a" * 64, "/v1/contexts", "/v1/contexts/f",
                 "/v1/contexts/f/call/echo", "/v1/contexts/f/call/put", "/v1/contexts/f/kv",
                 "/v1/contexts/f/crdt", "/v1/contexts/f/crdt/x", "/v1/contexts/f/logs",
                 "/v1/contexts/f/events", "/v1/node", "/metrics", "/health", "/"]
        junk = ["%", "%zz", "%00", "..", "//", "?", "&", "=", "%C3%A9", "%FF", "{}", "[", "+"]
        answered = 0
        for i in range(int(os.environ.get("WEFT_FUZZ_REQUESTS", "300"))):
            method = rnd.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
            path = rnd.choice(paths)
            for _ in range(rnd.randrange(3)):
                cut = rnd.randrange(len(path) + 1)
                path = path[:cut] + rnd.choice(junk) + path[cut:]
            if rnd.random() < 0.4:
                path += "?" + "&".join("%s=%s" % (rnd.choice(["after", "limit", "input", "args",
                                                             "after_base64", "follow", "name",
                                                             "manifest", "prefix"]),
                                                  rnd.choice(["", "-1", "0", "99999999999", "%zz",
                                                              "[1,2]", "[", "x" * 300, "YQB4"]))
                                       for _ in range(rnd.randrange(1, 4)))
            body = bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 1, 10, 500, 1500])))
            if rnd.random() < 0.3:
                body = rnd.choice([b"[1, 2]", b'{"app": 1}', b'{"app": "x", "name": ""}', b"[",
                                   b'{"name": "\u0000"}', b"[1e999, -0]", b'"str"'])
            headers = {}
            if rnd.random() < 0.3:
                headers["Content-Type"] = rnd.choice(["application/json", "text/plain", "",
                                                      "application/json; charset=utf-8"])
            if rnd.random() < 0.2:
                headers["Last-Event-ID"] = rnd.choice(["1", "x", "-1", "99999999999999999999"])
            if rnd.random() < 0.2:
                headers["Weft-Signer"] = rnd.choice(["00" * 32, "zz", ""])
                headers["Weft-Timestamp"] = rnd.choice(["0", "x", str(int(time.time() * 1000))])
                headers["Weft-Signature"] = rnd.choice(["00" * 64, ""])
            try:
                c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=5)
                c.putrequest(method, path, skip_accept_encoding=True)
                for k, v in headers.items():
                    c.putheader(k, v)
                c.putheader("Content-Length", str(len(body)))
                c.endheaders(body)
                resp = c.getresponse()
                if path.startswith("/v1/contexts/f/events") or "follow" in path:
                    resp.close()  # a stream: the status line is enough
                else:
                    resp.read()
                answered += 100 <= resp.status < 600
                c.close()
            except (OSError, ValueError, http.client.HTTPException):
                pass
            if node.proc.poll() is not None:
                break
        check(node.proc.poll() is None, "the node survives random requests")
        check(answered > 100, "random requests are answered (%d)" % answered)
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=still")
        check(s == 200 and doc["output"] == "alive", "and still answers correctly")
        s, doc = node.json("POST", "/v1/contexts/c/call/echo", b"[1,", {"Content-Type": "application/json"})
        check(s == 200 and doc["output"] == "[1,", "JSON to a function without numeric params is input")
        check(node.proc.poll() is None, "the node is still running")
    finally:
        node.stop()


def metric(node, name):
    s, h, body = node.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def case_views(tmp):
    node = Node(os.path.join(tmp, "d"), config={"workers": 2, "limits": {"timeout_ms": 4000}})
    try:
        first_app = setup(node)
        done = {}
        long_view = threading.Thread(target=lambda: done.update(
            r=node.json("GET", "/v1/contexts/c/call/spin")))
        long_view.start()
        time.sleep(0.3)
        s, doc = node.json("POST", "/v1/contexts/c/call/put", b"w=1")
        check(s == 200 and long_view.is_alive(), "a write commits while a long view runs")
        s, doc = node.json("GET", "/v1/contexts/c/call/get?input=w")
        check(s == 200 and doc["output"] == "1" and long_view.is_alive(),
              "and another view reads it meanwhile")
        # Short views run on the HTTP thread that took them; the long one
        # was tried there too, cut at the budget and moved to a worker, so
        # it holds neither HTTP thread: views on eight connections (spread
        # over both threads) are all answered while it runs.
        here0 = metric(node, "weft_views_here_total")
        answers = []

        def short_view():
            s, doc = node.json("GET", "/v1/contexts/c/call/get?input=w")
            answers.append(s == 200 and doc["output"] == "1")
        shorts = [threading.Thread(target=short_view) for _ in range(8)]
        for t in shorts:
            t.start()
        for t in shorts:
            t.join(30)
        check(answers == [True] * 8 and long_view.is_alive(),
              "views on eight connections are answered while the long view runs: %r" % answers)
        # (not all eight need to: one stopped past the 1 ms budget on a
        # loaded machine goes to a worker, and so do its function's next
        # views until one there is short)
        check(metric(node, "weft_views_here_total") > here0,
              "short views run on the HTTP threads (weft_views_here_total)")
        long_view.join(30)
        s, doc = done.get("r", (None, None))
        check(s == 422 and doc["error"]["trap"] == "INTERRUPTED", "the long view ends at its deadline")
        # A manifest names views: a POST to one runs as a view.
        import urllib.parse
        mf = '{"views": ["echo", "put"], "limits": {"fuel": 30000}}'
        s, doc = node.json("POST", "/v1/apps?manifest=" + urllib.parse.quote('{"views": ["nope"]}'),
                           app_bytes())
        check(s == 400 and "nope" in doc["error"]["message"], "a manifest naming no export: 400")
        node.request("DELETE", "/v1/contexts/c")
        s, h, body = node.request("DELETE", "/v1/apps/" + first_app)
        check(s == 204, "the app without a manifest is deleted")
        s, app = node.json("POST", "/v1/apps?manifest=" + urllib.parse.quote(mf), app_bytes())
        check(s == 201 and app.get("manifest") == json.loads(mf), "deploy shows the manifest")
        node.json("POST", "/v1/contexts", json.dumps({"app": app["id"], "name": "m"}))
        s, doc = node.json("POST", "/v1/contexts/m/call/put", b"x=1")
        check(s == 422 and "a view cannot write" in doc["error"]["message"],
              "a POST to a manifest view runs as a view")
        s, doc = node.json("POST", "/v1/contexts/m/call/spin")
        check(s == 422 and doc["error"]["trap"] == "OUT_OF_FUEL", "the manifest's fuel limit")
        # A view whose own deadline comes before the budget fails at it on
        # the HTTP thread, as on a worker.
        node.request("DELETE", "/v1/contexts/m")
        s, h, body = node.request("DELETE", "/v1/apps/" + app["id"])
        s, quick = node.json("POST", "/v1/apps?name=quick&manifest=" +
                             urllib.parse.quote('{"limits": {"timeout_ms": 1}}'), app_bytes())
        node.json("POST", "/v1/contexts", json.dumps({"app": quick["id"], "name": "q"}))
        here0 = metric(node, "weft_views_here_total")
        s, doc = node.json("GET", "/v1/contexts/q/call/spin")
        check(s == 422 and doc["error"]["trap"] == "INTERRUPTED",
              "a view on the HTTP thread past its deadline: 422 INTERRUPTED (%s %r)" % (s, doc))
        check(metric(node, "weft_views_here_total") == here0 + 1,
              "and it ran on the HTTP thread")
        node.request("DELETE", "/v1/contexts/q")
    finally:
        node.stop()


def case_tier(tmp):
    # weft serve compiles hot functions by default (tier auto, docs/jit.md):
    # spin's loop runs its 1,000 back-edges long before its deadline, so its
    # function is compiled during its first view; the gauge says so. With
    # "tier": "interp" nothing is ever compiled, the answers the same.
    for tier, compiled in ((None, True), ("interp", False)):
        config = {"limits": {"timeout_ms": 300}}
        if tier:
            config["tier"] = tier
        node = Node(os.path.join(tmp, "d-%s" % tier), config=config)
        try:
            setup(node)
            check(metric(node, "weft_compiled_functions") == 0,
                  "tier %s: nothing compiled before any call" % tier)
            total = metric(node, "weft_functions")
            check(total and total > 3, "tier %s: the app's functions counted (%r)" % (tier, total))
            for _ in range(2):
                s, doc = node.json("GET", "/v1/contexts/c/call/spin")
                check(s == 422 and doc["error"]["trap"] == "INTERRUPTED",
                      "tier %s: spin stops at its deadline (%s %r)" % (tier, s, doc))
            s, doc = node.json("POST", "/v1/contexts/c/call/put", b"k=v")
            s2, doc2 = node.json("GET", "/v1/contexts/c/call/get?input=k")
            check(s == 200 and s2 == 200 and doc2["output"] == "v",
                  "tier %s: writes and views answer (%s %s %r)" % (tier, s, s2, doc2))
            n = metric(node, "weft_compiled_functions")
            check((n >= 1) if compiled else (n == 0),
                  "tier %s: weft_compiled_functions %r" % (tier or "default (auto)", n))
        finally:
            node.stop()


def case_shutdown(tmp):
    node = Node(os.path.join(tmp, "d"), config={"limits": {"timeout_ms": 1500}})
    try:
        setup(node)
        answer = {}

        def slow():
            answer["r"] = node.json("POST", "/v1/contexts/c/call/spin")
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        node.proc.send_signal(signal.SIGTERM)
        t.join(30)
        s, doc = answer.get("r", (None, None))
        check(s == 422 and (doc or {}).get("error", {}).get("trap") == "INTERRUPTED",
              "the call in flight is answered (interrupted at its deadline): %r" % (answer,))
        check(node.proc.wait(30) == 0, "SIGTERM: exit 0")
    finally:
        node.stop()


def case_crash(tmp):
    data = os.path.join(tmp, "d")
    node = Node(data)
    app = setup(node)
    # writes of several contexts run side by side and share batches
    contexts = ["c"] + ["c%d" % i for i in range(2, 9)]
    for ctx in contexts[1:]:
        s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": ctx}))
        assert s == 201, (s, doc)
    node.stop()
    acked = set()
    lock = threading.Lock()
    for rnd in range(CRASH_ROUNDS):
        node = Node(data)
        stop = threading.Event()

        def writer(w):
            i = 0
            ctx = contexts[w % len(contexts)]
            while not stop.is_set():
                key = "r%dw%di%d" % (rnd, w, i)
                try:
                    s, doc = node.json("POST", "/v1/contexts/%s/call/put" % ctx,
                                       (key + "=" + key).encode())
                except OSError:
                    return
                if s == 200:
                    with lock:
                        acked.add((ctx, key))
                i += 1
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(len(contexts))]
        [t.start() for t in threads]
        time.sleep(0.15 + 0.05 * (rnd % 4))
        node.proc.kill()
        node.proc.wait()
        stop.set()
        [t.join() for t in threads]
        node.stop()
    node = Node(data)
    try:
        keys = {}
        for ctx in contexts:
            after = None
            while True:
                q = "/v1/contexts/%s/kv?limit=1000" % ctx + ("&after=" + after if after else "")
                s, doc = node.json("GET", q)
                assert s == 200, doc
                for item in doc["items"]:
                    keys[(ctx, item["key"])] = item["value"]
                if not doc["next"]:
                    break
                after = doc["next"]
        missing = [k for k in acked if keys.get(k) != k[1]]
        check(not missing, "every acknowledged write survived %d kill -9s in its context "
              "(%d acked, %d missing)" % (CRASH_ROUNDS, len(acked), len(missing)))
        check(all(k[1] == v for k, v in keys.items()), "nothing half-applied")
        check(all(any(k[0] == ctx for k in acked) for ctx in contexts),
              "writes of every context were acknowledged")
        check(len(acked) > 0, "writes were acknowledged")
        s, doc = node.json("POST", "/v1/contexts/c/call/put", b"after=crash")
        check(s == 200, "the node works after the crashes")
        s, h, body = node.request("GET", "/metrics")
        # alone, it ran on the commit thread (docs/node.md "A lone writer")
        check(s == 200 and "weft_worker_write_calls_total 0\n" in body.decode(),
              "the lone write call's guest ran on the commit thread, not a worker")
        check("weft_writer_guest_calls_total 1\n" in body.decode(),
              "/metrics counts it among the commit thread's guests")
    finally:
        node.stop()


def case_blobs(tmp):
    """PUT /v1/blobs streams any size in, GET /v1/blobs/{id} streams it out;
    the id is the SHA-256 of the bytes, the same bytes get the same id, and
    blobs survive a restart."""
    import hashlib
    data = os.path.join(tmp, "d")
    node = Node(data)
    try:
        s, doc = node.json("PUT", "/v1/blobs", b"")
        check(s == 201 and doc["id"] == hashlib.sha256(b"").hexdigest() and doc["size"] == 0,
              "an empty blob: %s %s" % (s, doc))
        blob = os.urandom(1 << 20) + b"end"
        s, doc = node.json("PUT", "/v1/blobs", blob)
        want = hashlib.sha256(blob).hexdigest()
        check(s == 201 and doc.get("id") == want and doc.get("size") == len(blob),
              "a 1 MiB blob: %s %s" % (s, doc))
        # the same bytes sent in chunked pieces of odd sizes: the same blob
        c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
        pieces = (blob[i:i + 77777] for i in range(0, len(blob), 77777))
        c.request("PUT", "/v1/blobs", body=pieces, encode_chunked=True)
        r = c.getresponse()
        again = json.loads(r.read())
        c.close()
        check(r.status == 201 and again.get("id") == want, "chunked upload: %s" % again)
        s, h, body = node.request("GET", "/v1/blobs/" + want)
        check(s == 200 and body == blob, "the blob reads back (%s, %d bytes)" % (s, len(body)))
        check(h.get("Content-Type") == "application/octet-stream", "content type %s" % h)
        check(h.get("ETag") == '"%s"' % want and "immutable" in h.get("Cache-Control", ""),
              "cached for good: %s" % h)
        s, h, body = node.request("GET", "/v1/blobs/" + want, headers={"If-None-Match": '"%s"' % want})
        check(s == 304 and body == b"", "a matching ETag: %s" % s)
        s, doc = node.json("GET", "/v1/blobs/" + "0" * 64)
        check(s == 404 and error_code(doc) == "NOT_FOUND", "no such blob: %s %s" % (s, doc))
        s, doc = node.json("GET", "/v1/blobs/xyz")
        check(s == 400 and error_code(doc) == "BAD_REQUEST", "a bad id: %s %s" % (s, doc))
        # an upload cut off halfway leaves no blob, and the node lives on
        partial = os.urandom(300000)
        sock = socket.create_connection(("127.0.0.1", node.port))
        sock.sendall(b"PUT /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n" +
                     partial)
        sock.close()
        time.sleep(0.3)
        s, doc = node.json("GET", "/v1/blobs/" + hashlib.sha256(partial).hexdigest())
        check(s == 404, "a cut-off upload is no blob: %s" % s)
    finally:
        node.stop()
    node = Node(data)
    try:
        s, h, body = node.request("GET", "/v1/blobs/" + want)
        check(s == 200 and body == blob, "the blob survives a restart")
    finally:
        node.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="weft-server-")
    try:
        globals()["case_" + CASE](tmp)
    finally:
        kill_started()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d failed" % (CASE, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
