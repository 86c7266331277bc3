#!/usr/bin/env python3
"""tests/cosmictron/cosm_e2e.py — the Cosmictron ABI through a real
`weft serve` (tests/server/nodes.py): deploy guests/cosm_abi.wasm (its ABI
detected from its imports), call reducers over HTTP with BSATN bodies,
read a table back as JSON pages with GET /v1/contexts/{name}/tables/{table},
and check that a failing reducer rolls back, that private tables are not
shown, and that rows survive a restart of the node.

A scheduled reducer runs on the node's scheduler after a restart, and a
cancelled one never runs (schedule). console.log lines below `weft serve
--log-level` are not kept (log_level).

The chat case runs examples/cosmictron_chat's session (GUEST_WASM is then
that example).

usage: cosm_e2e.py CASE WEFT GUEST_WASM
       (CASE: calls, tables, restart, subscribe, subscribe_range, schedule, log_level, chat, bad_deploy,
        inspect, run)
"""
import http.client
import json
import os
import struct
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402


# heartbeats every 100 ms: a subscriber that went away is noticed (and its
# client_disconnected runs) at the next one
FAST = {"heartbeat_ms": 100}


def bstr(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def add_args(name, age):
    return bstr(name) + struct.pack("<i", age)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def deploy(node, guest):
    with open(guest, "rb") as f:
        wasm = f.read()
    status, doc = node.json("POST", "/v1/apps?name=cosm", wasm)
    check(status in (200, 201) and doc.get("abi") == "cosmictron", "deploy: %s %s" % (status, doc))
    context(node, doc["id"], "c1")
    return doc["id"]


def context(node, app, name):
    status, doc = node.json("POST", "/v1/contexts", b'{"name": "%s", "app": "%s"}' %
                            (name.encode(), app.encode()), {"Content-Type": "application/json"})
    check(status in (200, 201), "context: %s %s" % (status, doc))


def call(node, reducer, body=b"", ctx="c1"):
    return node.json("POST", "/v1/contexts/%s/call/%s" % (ctx, reducer), body)


def rows(node, table, query=""):
    return node.json("GET", "/v1/contexts/c1/tables/%s%s" % (table, query))


def case_calls(node, app):
    status, doc = call(node, "add", add_args("ann", -3))
    check(status == 200, "add: %s %s" % (status, doc))
    status, doc = call(node, "add", add_args("ann", 5))  # unique name: the reducer fails
    check(status == 422 and doc["error"]["code"] == "EXIT", "dup add: %s %s" % (status, doc))
    check(any("check failed" in l for l in doc["error"]["logs"]), "dup add logs: %s" % doc)
    status, doc = call(node, "context")
    check(status == 200, "context: %s %s" % (status, doc))
    check(doc["logs"][:5] == ["trace: level 0", "debug: level 1", "info: level 2",
                              "warn: level 3", "error: level 4"], "levels: %s" % doc["logs"])
    for reducer in ("errors", "ranges", "iter_inserts", "iter_limit"):
        context(node, app, reducer)  # each checks its own rows: a fresh context
        status, doc = call(node, reducer, ctx=reducer)
        check(status == 200, "%s: %s %s" % (reducer, status, doc))
    status, doc = call(node, "no_such_reducer")
    check(status >= 400, "unknown reducer: %s %s" % (status, doc))
    # JSON arguments, converted with the reducer's declared types: an
    # object of their names or an array in order
    js = {"Content-Type": "application/json"}
    for body in (b'{"name": "jay", "age": -9}', b'["kay", 2147483647]'):
        status, doc = node.json("POST", "/v1/contexts/c1/call/add", body, js)
        check(status == 200, "json add %s: %s %s" % (body, status, doc))
    status, doc = rows(node, "person")
    ages = {r["name"]: r["age"] for r in doc["items"]}
    check(ages.get("jay") == -9 and ages.get("kay") == 2147483647, "json rows: %s" % doc)
    for body, why in ((b'{"name": 5, "age": 1}', "name: not a value of its declared type"),
                      (b'{"name": "x"}', "no value for 'age'"),
                      (b'["x", 2147483648]', "age: not a value of its declared type"),
                      (b'[1', "malformed JSON")):
        status, doc = node.json("POST", "/v1/contexts/c1/call/add", body, js)
        check(status >= 400 and why in json.dumps(doc), "json %s: %s %s" % (body, status, doc))


def case_tables(node):
    for i, name in enumerate(["a", "b", "c", "d", "e"]):
        status, doc = call(node, "add", add_args(name, i - 2))
        check(status == 200, "add %s: %s %s" % (name, status, doc))
    status, doc = rows(node, "person", "?limit=2")
    check(status == 200, "page 1: %s %s" % (status, doc))
    check(doc["items"] == [{"id": 100, "name": "a", "age": -2, "tag": None},
                           {"id": 101, "name": "b", "age": -1, "tag": None}], "page 1: %s" % doc)
    seen = [r["name"] for r in doc["items"]]
    while doc["next"]:
        status, doc = rows(node, "person", "?limit=2&after=" + doc["next"])
        check(status == 200, "next page: %s %s" % (status, doc))
        seen += [r["name"] for r in doc["items"]]
    check(seen == ["a", "b", "c", "d", "e"], "all pages: %s" % seen)
    status, doc = rows(node, "secret")  # private: not shown, nor its existence
    check(status == 404, "private table: %s %s" % (status, doc))
    status, doc = rows(node, "nope")
    check(status == 404, "no table: %s %s" % (status, doc))
    status, doc = rows(node, "person", "?after=zz")
    check(status == 400, "bad cursor: %s %s" % (status, doc))
    status, doc = node.json("GET", "/v1/contexts/nope/tables/person")
    check(status == 404, "no context: %s %s" % (status, doc))
    case_ranges(node)


def ranges(node, query):
    """All the names of a range's pages of 2 rows (following "next")."""
    status, doc = rows(node, "person", query + "&limit=2")
    check(status == 200, "range %s: %s %s" % (query, status, doc))
    names = [r["name"] for r in doc["items"]]
    while doc["next"]:
        status, doc = rows(node, "person", query + "&limit=2&after=" + doc["next"])
        check(status == 200, "range %s next: %s %s" % (query, status, doc))
        names += [r["name"] for r in doc["items"]]
    return names


def case_ranges(node):
    # person a..e: ids 100..104, ages -2..2 (signed: -2 sorts first)
    q = urllib.parse.quote
    check(ranges(node, "?index=by_age&from=-1&to=2") == ["b", "c", "d"], "age [-1, 2)")
    check(ranges(node, "?index=by_age&to=0") == ["a", "b"], "age below 0")
    check(ranges(node, "?index=by_age&from=1") == ["d", "e"], "age from 1")
    check(ranges(node, "?index=by_age&from=3") == [], "age from 3: empty")
    check(ranges(node, "?index=by_age") == ["a", "b", "c", "d", "e"], "whole index")
    check(ranges(node, "?from=101&to=103") == ["b", "c"], "primary key [101, 103)")
    check(ranges(node, "?index=&from=104") == ["e"], "primary key from 104 (empty index=)")
    check(ranges(node, "?index=by_id&from=103") == ["d", "e"], "declared pk index")
    check(ranges(node, "?index=by_age_name&from=%s&to=%s" %
                 (q('[0, "c"]'), q('[1, "zz"]'))) == ["c", "d"], "two columns")
    for query, why in [("?index=nope", "no index 'nope'"),
                       ("?index=by_age&from=%s" % q('"x"'), "from (column age)"),
                       ("?index=by_age&to=x", "to: not a JSON value"),
                       ("?index=by_age&from=4294967296", "from (column age)"),
                       ("?index=by_age_name&from=1", "an array of 2 values"),
                       ("?from=-1", "from (column id)")]:
        status, doc = rows(node, "person", query)
        check(status == 400 and why in doc["error"]["message"],
              "refused %s: %s %s" % (query, status, doc))
    # a cursor before the range is refused, not a way out of it
    status, doc = rows(node, "person", "?index=by_age&from=0&limit=1")
    check(status == 200 and doc["next"], "by_age from 0: %s %s" % (status, doc))
    status, doc = rows(node, "person", "?index=by_age&from=2&after=" + doc["next"])
    check(status == 400, "cursor before the range: %s %s" % (status, doc))


def case_restart(node, data):
    status, doc = call(node, "add", add_args("kept", 7))
    check(status == 200, "add: %s %s" % (status, doc))
    status, doc = call(node, "add", add_args("kept", 8))  # rolled back
    check(status == 422, "dup: %s %s" % (status, doc))
    node.stop()
    node = nodes.Node(data, config=FAST)
    try:
        status, doc = rows(node, "person")
        check(status == 200 and [r["name"] for r in doc["items"]] == ["kept"],
              "after restart: %s %s" % (status, doc))
    finally:
        node.stop()


def case_log_level(node, app, data):
    """weft serve --log-level warn (and the config's "log_level": "error"):
    console.log lines below the level are not kept."""
    import subprocess
    status, doc = call(node, "context")
    check(status == 200 and doc["logs"][:3] == ["warn: level 3", "error: level 4",
                                                "error: clamped"], "warn: %s %s" % (status, doc))
    node.stop()
    node = nodes.Node(data, config=dict(FAST, log_level="error"))
    try:
        context(node, app, "c2")  # "context" writes a row of its own once per context
        status, doc = call(node, "context", ctx="c2")
        check(status == 200 and doc["logs"] == ["error: level 4", "error: clamped"],
              "error: %s %s" % (status, doc))
    finally:
        node.stop()
    out = subprocess.run([nodes.WEFT, "serve", "--data-dir", data, "--log-level", "5"],
                         capture_output=True, text=True, timeout=30)
    check(out.returncode != 0 and "--log-level" in out.stderr, "bad level: %s" % out.stderr)


def case_schedule(node, data):
    import time
    # tick at +1 s (cancelled) and +2 s; the node stops at once and starts
    # again: the schedule kept in the data directory runs then, exactly once
    status, doc = call(node, "schedule")
    check(status == 200, "schedule: %s %s" % (status, doc))
    node.stop()
    node = nodes.Node(data, config=FAST)
    try:
        deadline = time.time() + 60
        while True:
            status, doc = rows(node, "log")
            check(status == 200, "log rows: %s %s" % (status, doc))
            if doc["items"] or time.time() > deadline:
                break
            time.sleep(0.1)
        # the cancelled tick was due first: had it run, it would be here too
        check([r["msg"] for r in doc["items"]] == ["tick 7"], "ticks: %s" % doc)
        status, doc = call(node, "iter_limit")  # the node still serves calls
        check(status == 200, "after the scheduler: %s %s" % (status, doc))
    finally:
        node.stop()


def case_chat(node):
    sub = Sse(node, "/v1/contexts/c1/tables/message/subscribe")
    mid, event, data = sub.next()
    check(event == "ready", "empty table: %s %s" % (event, data))
    status, doc = call(node, "send", bstr("too early"))
    check(status == 422, "send without a name: %s %s" % (status, doc))
    for reducer, arg in (("set_name", "ada"), ("send", "hello"), ("send", "again")):
        status, doc = call(node, reducer, bstr(arg))
        check(status == 200, "%s: %s %s" % (reducer, status, doc))
    for text in ("hello", "again"):
        mid, event, data = sub.next()
        row = json.loads(data["payload"])
        check(event == "table:message:insert" and row["text"] == text, "%s: %s" % (text, data))
    status, doc = rows(node, "user")
    check(status == 200 and [u["name"] for u in doc["items"]] == ["ada"], "users: %s" % doc)
    status, doc = rows(node, "message")
    check([m["id"] for m in doc["items"]] == [1, 2], "messages: %s" % doc)
    # cleanup(max_age 0, once): every message is older than now
    status, doc = call(node, "cleanup", struct.pack("<qq", 0, 0))
    check(status == 200, "cleanup: %s %s" % (status, doc))
    for i in (1, 2):
        mid, event, data = sub.next()
        check(event == "table:message:delete" and json.loads(data["payload"])["id"] == i,
              "delete %d: %s %s" % (i, event, data))
    status, doc = rows(node, "message")
    check(doc["items"] == [], "after cleanup: %s" % doc)
    sub.close()


class Sse:
    """A Server-Sent Events stream, read message by message."""

    def __init__(self, node, path, headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=20)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def next(self):
        """(id or None, event, data parsed) of the next message (comments skipped)."""
        mid, event, data = None, None, None
        while True:
            line = self.resp.fp.readline()
            if not line:
                raise AssertionError("the stream ended")
            line = line.decode().rstrip("\n")
            if line == "":
                if event is not None:
                    return mid, event, json.loads(data) if data else None
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            if key == "id":
                mid = int(value)
            elif key == "event":
                event = value
            elif key == "data":
                data = value

    def close(self):
        self.conn.close()


def life(node):
    status, doc = rows(node, "life")
    check(status == 200, "life: %s %s" % (status, doc))
    return [r["what"] for r in doc["items"]]


def wait_life(node, want):
    import time
    deadline = time.time() + 30
    while life(node) != want and time.time() < deadline:
        time.sleep(0.05)
    check(life(node) == want, "lifecycle reducers: %s, want %s" % (life(node), want))


def case_subscribe(node):
    check(life(node) == ["init"], "init at the context's creation: %s" % life(node))
    for name, age in (("a", 1), ("b", 2)):
        status, doc = call(node, "add", add_args(name, age))
        check(status == 200, "add: %s %s" % (status, doc))
    sub = Sse(node, "/v1/contexts/c1/tables/person/subscribe")
    check(sub.status == 200, "subscribe: %s" % sub.status)
    rows = []
    while True:
        mid, event, data = sub.next()
        if event == "ready":
            ready = mid
            break
        check(event == "row", "before ready: %s %s" % (event, data))
        rows.append(data["name"])
    check(rows == ["a", "b"], "first rows: %s" % rows)
    wait_life(node, ["init", "connected"])  # client_connected, in the background
    # changes in commit order: an insert, a failed call (nothing), a delete
    status, doc = call(node, "add", add_args("c", 3))
    check(status == 200, "add c: %s %s" % (status, doc))
    status, doc = call(node, "add", add_args("c", 4))
    check(status == 422, "dup c: %s %s" % (status, doc))
    status, doc = call(node, "context")  # writes only a private table: no event here
    check(status == 200, "context: %s %s" % (status, doc))
    status, doc = call(node, "remove", struct.pack("<I", 100))
    check(status == 200, "remove: %s %s" % (status, doc))
    mid1, event, data = sub.next()
    check(event == "table:person:insert" and json.loads(data["payload"])["name"] == "c" and
          mid1 > ready, "insert event: %s %s %s" % (mid1, event, data))
    mid2, event, data = sub.next()
    check(event == "table:person:delete" and json.loads(data["payload"])["id"] == 100 and
          mid2 > mid1, "delete event: %s %s %s" % (mid2, event, data))
    sub.close()
    wait_life(node, ["init", "connected", "disconnected"])
    # resumed after the insert: the delete only, no rows again
    sub = Sse(node, "/v1/contexts/c1/tables/person/subscribe", {"Last-Event-ID": str(mid1)})
    mid, event, data = sub.next()
    check(mid == mid2 and event == "table:person:delete", "resumed: %s %s" % (mid, event))
    sub.close()
    sub = Sse(node, "/v1/contexts/c1/tables/secret/subscribe")
    check(sub.status == 404, "private table: %s" % sub.status)
    sub.close()


def start_rows(sub, field):
    """The `field` of each row a subscription starts with, up to `ready`."""
    got = []
    while True:
        mid, event, data = sub.next()
        if event == "ready":
            return got
        check(event == "row", "before ready: %s %s" % (event, data))
        got.append(data[field])


def case_subscribe_range(node):
    """?index=&from=&to= on a subscription: the rows in the range, then
    only the inserts and deletes of rows in it; resumable the same way."""
    for name, age in (("a", 1), ("b", 5), ("c", 9)):  # ids 100, 101, 102
        check(call(node, "add", add_args(name, age))[0] == 200, "add %s" % name)
    path = "/v1/contexts/c1/tables/person/subscribe?index=by_age&from=2&to=9"
    sub = Sse(node, path)
    check(sub.status == 200, "subscribe: %s" % sub.status)
    first = start_rows(sub, "name")
    check(first == ["b"], "the rows of ages 2 to 9 (excluded): %s" % first)
    for name, age in (("d", 3), ("e", 9), ("f", -1), ("g", 8)):  # 103 in, 104, 105 out, 106 in
        check(call(node, "add", add_args(name, age))[0] == 200, "add %s" % name)
    check(call(node, "remove", struct.pack("<I", 101))[0] == 200, "remove b (age 5)")
    check(call(node, "remove", struct.pack("<I", 100))[0] == 200, "remove a (age 1)")
    got = []
    for _ in range(3):
        mid, event, data = sub.next()
        got.append((mid, event, json.loads(data["payload"])["name"]))
    sub.close()
    check([g[1:] for g in got] == [("table:person:insert", "d"), ("table:person:insert", "g"),
                                   ("table:person:delete", "b")], "changes in range: %s" % got)
    # resumed after d's insert: g's insert next, the others still passed over
    sub = Sse(node, path, {"Last-Event-ID": str(got[0][0])})
    mid, event, data = sub.next()
    check(mid == got[1][0] and json.loads(data["payload"])["name"] == "g",
          "resumed: %s %s" % (mid, data))
    sub.close()
    # the primary key's range: ids from 104 on
    sub = Sse(node, "/v1/contexts/c1/tables/person/subscribe?from=104")
    ids = start_rows(sub, "id")
    sub.close()
    check(ids == [104, 105, 106], "primary key from 104: %s" % ids)
    for q, what in (("?index=nope", "no index 'nope'"),
                    ("?index=by_age&from=%22x%22", "from (column age)")):
        status, doc = node.json("GET", "/v1/contexts/c1/tables/person/subscribe" + q)
        check(status == 400 and what in doc["error"]["message"], "%s: %s %s" % (q, status, doc))


def main():
    case, nodes.WEFT, guest = sys.argv[1], sys.argv[2], sys.argv[3]
    if case == "run":  # `weft run --invoke REDUCER` on the chat example
        import subprocess
        with tempfile.TemporaryDirectory(prefix="weft-cosm-run-") as tmp:
            def run(reducer, arg=None, stdin=b""):
                argv = [nodes.WEFT, "run", "--data-dir", tmp, "--invoke", reducer, guest]
                return subprocess.run(argv + ([arg] if arg else []), input=stdin,
                                      capture_output=True).returncode
            check(run("send", '{"text": "early"}') != 0, "send before a name")
            check(run("set_name", '{"name": "ada"}') == 0, "set_name (JSON)")
            check(run("send", stdin=bstr("hi")) == 0, "send (BSATN on stdin)")  # kept across runs
            check(run("send", '["again"]') == 0, "send (JSON array)")
            check(run("send", '[5]') != 0, "send with a number")
            check(run("send", "a", ) != 0 and run("send", "[") != 0, "malformed JSON")
        print("ok", case)
        return
    if case == "inspect":  # `weft inspect` shows the schema, no node needed
        import subprocess
        out = subprocess.run([nodes.WEFT, "inspect", guest], capture_output=True, text=True).stdout
        check("guest ABI:  cosmictron\nschema:\n  table person (public): id u32 primary key, "
              "name String unique, age i32, tag Option<String>; index by_age (age); index "
              "by_age_name (age, name); index by_id (id)\n" in out, "inspect: %s" % out)
        check("  reducer add {name: String, age: i32}\n" in out, "inspect reducers: %s" % out)
        print("ok", case)
        return
    with tempfile.TemporaryDirectory(prefix="weft-cosm-") as tmp:
        data = os.path.join(tmp, "node")
        node = nodes.Node(data, config=FAST,
                          extra=("--log-level", "warn") if case == "log_level" else ())
        try:
            if case == "bad_deploy":
                with open(guest, "rb") as f:
                    status, doc = node.json("POST", "/v1/apps?name=bad", f.read())
                msg = doc.get("error", {}).get("message", "") if doc else ""
                check(status == 400 and "table notes: owner column owner must be of type bytes"
                      in msg, "bad deploy: %s %s" % (status, doc))
                print("ok", case)
                return
            app = deploy(node, guest)
            if case == "calls":
                case_calls(node, app)
            elif case == "tables":
                case_tables(node)
            elif case == "restart":
                case_restart(node, data)
            elif case == "subscribe":
                case_subscribe(node)
            elif case == "subscribe_range":
                case_subscribe_range(node)
            elif case == "schedule":
                case_schedule(node, data)
            elif case == "log_level":
                case_log_level(node, app, data)
            elif case == "chat":
                case_chat(node)
            else:
                raise SystemExit("unknown case " + case)
        finally:
            node.stop()
            nodes.kill_started()
    print("ok", case)


if __name__ == "__main__":
    main()
