#!/usr/bin/env python3
"""tests/component/node_test.py — components as apps of `weft serve`
(docs/components.md, "Components on a node"): deploys (an import the
manifest does not list refused, naming it; stubs on request), GET
/v1/apps/{id} with WIT-level imports and exports, calls over HTTP with
text, bytes and JSON arguments, an interface export, a result's err, a
trap (422 with the message), and `wippy:runtime/funcs` calls through the
node: component -> component, component -> nx module and its trap,
permission refused, a cycle, the depth bound, a nested nx write that
commits with its caller or rolls back when the callee traps, its event
pushed to the callee context's live subscribers, and a Faasm
function chaining to a component. Skips (77) without the test
components (jco missing).

usage: node_test.py WEFT COMPONENTS_DIR FAASM_CHAIN_WASM
"""
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402
from nodes import check  # noqa: E402


def deploy(node, path, name, manifest=None):
    q = "name=" + name
    if manifest is not None:
        q += "&manifest=" + urllib.parse.quote(json.dumps(manifest))
    with open(path, "rb") as f:
        body = f.read()
    return node.json("POST", "/v1/apps?" + q, body)


def context(node, name, app):
    status, doc = node.json("POST", "/v1/contexts", json.dumps({"app": app, "name": name}))
    assert status == 201, (status, doc)


def call(node, ctx, fn, body=b"", headers=None):
    """(status, the raw output, or the error's JSON when it failed)"""
    h = {"Accept": "application/octet-stream"}
    h.update(headers or {})
    status, hdrs, data = node.request("POST", "/v1/contexts/%s/call/%s"
                                      % (ctx, urllib.parse.quote(fn, safe="")), body, h)
    return status, data


def error(data):
    try:
        return json.loads(data)["error"]
    except (ValueError, KeyError):
        return {"message": data.decode("latin-1")}


def wait_for_streams(node, n, timeout=20):
    """Waits until the node has n open event streams (its /metrics), then
    a little for their backlog read to find nothing and the stream to turn
    live."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, hdrs, text = node.request("GET", "/metrics")
        if ("\nweft_sse_streams %d\n" % n).encode() in text:
            break
        time.sleep(0.05)
    time.sleep(0.3)


def main():
    weft, cdir, faasm_chain = sys.argv[1], sys.argv[2], sys.argv[3]
    svc, caller, shout, store = (os.path.join(cdir, n) for n in (
        "svc.wasm", "wippy_caller.wasm", "shout.wasm", "store.wasm"))
    basic, hello = os.path.join(cdir, "basic.wasm"), os.path.join(cdir, "p2_hello.wasm")
    if not all(os.path.exists(p) for p in (svc, caller, shout, store, basic, hello,
                                           faasm_chain)):
        print("SKIP: the test components were not built (jco missing: docs/components.md)")
        return 77
    with nodes.session(weft, "weft-component-") as tmp:
        node = nodes.Node(os.path.join(tmp, "data"))

        # -- deploys and import profiles --
        status, doc = deploy(node, basic, "basic")
        msg = (doc or {}).get("error", {}).get("message", "")
        check(status == 422 and "weft:test/host@0.1.0#log" in msg and "does not provide" in msg,
              "an import the node lacks fails the deploy, named: %s" % msg)
        status, doc = deploy(node, caller, "caller-nofuncs", {"imports": ["wasi:cli"]})
        msg = (doc or {}).get("error", {}).get("message", "")
        check(status == 422 and "wippy:runtime/funcs@0.1.0#call-string" in msg and
              "do not list" in msg, "an import outside the manifest's groups is refused: %s" % msg)
        status, doc = deploy(node, caller, "caller-bad", {"imports": ["wasi:nonsense"]})
        check(status == 400, "an unknown import group is refused (%d)" % status)
        status, doc = deploy(node, basic, "basic-stubbed", {"stub_missing": True})
        check(status == 201 and doc["abi"] == "component", "stub_missing deploys it (%d)" % status)
        basic_id = doc["id"]
        names = [e["name"] for e in doc.get("exports", [])]
        check("greet" in names and "add" in names and
              doc["imports"][0]["name"] == "weft:test/host@0.1.0",
              "the app shows WIT-level imports and exports: %s" % names)
        status, doc = node.json("GET", "/v1/apps/" + basic_id)
        add = [e for e in doc.get("exports", []) if e["name"] == "add"]
        check(status == 200 and add and add[0]["type"] == "func(a: u32, b: u32) -> u32",
              "GET /v1/apps/{id} shows an export's WIT type: %s" % add)

        status, doc = deploy(node, svc, "svc")
        check(status == 201, "the svc component deploys (%d %s)" % (status, doc))
        svc_id = doc["id"]
        context(node, "svc", svc_id)
        context(node, "basic", basic_id)

        # -- calls over HTTP --
        status, out = call(node, "svc", "echo", b"hi there")
        check(status == 200 and out == b"echo: hi there", "a string in, a string out: %r" % out)
        status, out = call(node, "svc", "add", b"[40, 2]", {"Content-Type": "application/json"})
        check(status == 200 and out == b"42", "JSON arguments, a number back: %r" % out)
        status, out = call(node, "svc", "point-sum", b'[{"x": -5, "y": 12}]')
        check(status == 200 and out == b"7", "a record argument: %r" % out)
        status, out = call(node, "svc", "sum", b"[[1, 2, 3, 4000000000]]")
        check(status == 200 and out == b"4000000006", "a list<u32> argument: %r" % out)
        status, out = call(node, "svc", "rev", b"\x00\x01\xff")
        check(status == 200 and out == b"\xff\x01\x00", "list<u8> takes and gives raw bytes")
        status, out = call(node, "svc", "weft:test/text@0.1.0#upper", b"quiet")
        check(status == 200 and out == b"QUIET", "an interface export, iface#func: %r" % out)
        status, out = call(node, "svc", "check", b"[3]")
        check(status == 200 and out == b"non-negative", "a result's ok is the output: %r" % out)
        status, out = call(node, "svc", "check", b"[-3]")
        e = error(out)
        check(status == 422 and e.get("code") == "EXIT" and e.get("status") == 1 and
              "negative" in e.get("message", ""), "a result's err fails the call: %s" % e)
        status, out = call(node, "svc", "fail")
        e = error(out)
        check(status == 422 and e.get("code") == "TRAP" and "unreachable" in e.get("message", ""),
              "a trap is 422 with its message: %s" % e.get("message"))
        status, out = call(node, "svc", "add", b"[1]")
        e = error(out)
        check(status == 422 and "takes 2 parameters" in e.get("message", ""),
              "a wrong argument count is refused: %s" % e.get("message"))
        status, out = call(node, "svc", "point-sum", b'[{"x": 1}]')
        e = error(out)
        check(status == 422 and "parameter 1 (p)" in e.get("message", ""),
              "a wrong argument is named: %s" % e.get("message"))
        status, out = call(node, "svc", "nope")
        e = error(out)
        check(status == 422 and "no exported function 'nope'" in e.get("message", ""),
              "an unknown function: %s" % e.get("message"))
        status, out = call(node, "basic", "greet", b"x")
        e = error(out)
        check(status == 422 and e.get("code") == "TRAP" and
              "unlinked import weft:test/host@0.1.0#log called" in e.get("message", ""),
              "a stubbed import traps when called: %s" % e.get("message"))
        # a WASI preview 2 command: run's ok has no payload, so stdout is the output
        status, doc = deploy(node, hello, "hello", {"stub_missing": True})
        run_export = [e["name"] for e in doc.get("exports", [])
                      if e["name"].startswith("wasi:cli/run@0.2.")]
        context(node, "hello", doc["id"])
        status, out = call(node, "hello", run_export[0] + "#run" if run_export else "run")
        check(status == 200 and out == b"hello, wasi\n", "a command's stdout is the output: %r"
              % out)
        status, out = call(node, "hello", run_export[0] + "#run" if run_export else "run")
        check(status == 200 and out == b"hello, wasi\n", "and only its own, call after call: %r"
              % out)
        # the output limit holds while it writes (hello_command: other bytes, so
        # their own manifest)
        status, doc = deploy(node, os.path.join(cdir, "hello_command.wasm"), "hello-small",
                             {"stub_missing": True, "limits": {"max_output_bytes": 5}})
        context(node, "hello-small", doc["id"])
        status, out = call(node, "hello-small", run_export[0] + "#run" if run_export else "run")
        e = error(out)
        check(status == 422 and e.get("code") == "TRAP" and
              "stdout is over its limit of 5 bytes" in e.get("message", ""),
              "stdout is bounded while the guest writes: %s" % e.get("message"))
        status, hdrs, out = node.request("GET", "/v1/contexts/svc/call/echo?input=view",
                                         headers={"Accept": "application/octet-stream"})
        check(status == 200 and out == b"echo: view", "a GET view takes ?input=: %r" % out)

        # -- funcs through the node --
        status, doc = deploy(node, shout, "shout")
        context(node, "nx", doc["id"])
        status, doc = deploy(node, caller, "caller", {
            "imports": ["funcs"],
            "funcs": {"allow": ["svc:*", "nx:shout", "kv:put", "c1:run", "c2:run", "c3:run", "c4:run",
                               "caller:run"], "max_depth": 3}})
        check(status == 201, "a caller with an allow list deploys (%d %s)" % (status, doc))
        caller_id = doc["id"]
        for c in ("caller", "c1", "c2", "c3", "c4"):
            context(node, c, caller_id)

        def run(ctx, target, inp):
            return call(node, ctx, "run", json.dumps([target, inp]).encode())

        status, out = run("caller", "svc:echo", "via funcs")
        check(status == 200 and out == b"echo: via funcs",
              "component -> component through the node: %r" % out)
        status, out = run("caller", "svc:weft:test/text@0.1.0#upper", "deep")
        check(status == 200 and out == b"DEEP", "funcs reaches an interface export: %r" % out)
        status, out = run("caller", "nx:shout", "loud")
        check(status == 200 and out == b"LOUD", "component -> nx module: %r" % out)
        status, out = run("caller", "nx:shout", "trap")
        e = error(out)
        check(status == 422 and "nx:shout" in e.get("message", "") and
              "unreachable" in e.get("message", ""),
              "the nx callee's trap is the err string: %s" % e.get("message"))
        status, out = run("caller", "basic:greet", "x")
        e = error(out)
        check(status == 422 and "permission denied: basic:greet" in e.get("message", ""),
              "a target outside the allow list: %s" % e.get("message"))
        status, out = run("caller", "svc:nope", "x")
        e = error(out)
        check(status == 422 and "no exported function 'nope'" in e.get("message", ""),
              "an unknown function of a target: %s" % e.get("message"))
        status, out = run("caller", "caller:run", json.dumps(["svc:echo", "x"]))
        e = error(out)
        check(status == 422 and "cycle: caller:run -> caller:run" in e.get("message", ""),
              "a cycle fails cleanly: %s" % e.get("message"))
        # c1 -> c2 -> c3 reaches the bound of 3 at c4
        inner = json.dumps(["c4:run", json.dumps(["svc:echo", "bottom"])])
        status, out = run("c1", "c2:run", json.dumps(["c3:run", inner]))
        e = error(out)
        check(status == 422 and "call depth 4 passes the bound of 3" in e.get("message", ""),
              "calls nest up to the depth bound: %s" % e.get("message"))
        status, out = run("c1", "c2:run", json.dumps(["svc:echo", "two deep"]))
        check(status == 200 and out == b"echo: two deep", "two nested calls: %r" % out)
        # an nx callee's write commits with its caller, and rolls back when it traps
        status, doc = deploy(node, store, "store")
        context(node, "kv", doc["id"])
        status, out = run("caller", "kv:put", "v1")
        status2, doc = node.json("GET", "/v1/contexts/kv/kv")
        items = {i.get("key"): i.get("value") for i in (doc or {}).get("items", [])}
        check(status == 200 and out == b"stored" and items.get("k") == "v1",
              "a nested write commits with its caller: %r %s" % (out, doc))
        status, out = run("caller", "kv:put", "trap")
        status2, doc = node.json("GET", "/v1/contexts/kv/kv")
        items = {i.get("key"): i.get("value") for i in (doc or {}).get("items", [])}
        check(status == 422 and items.get("k") == "v1",
              "a trapping callee's write is rolled back: %s" % doc)
        # the nested call's event (put's "stored", number 1 was v1's, the trap's
        # rolled back) reaches a live subscriber of its context after the commit
        got = []

        def subscribe():
            try:
                got.extend(nodes.sse_read(node, "/v1/contexts/kv/events?after=1", 1, timeout=30))
            except OSError as e:  # no event came
                print("events: %s" % e)
        t = threading.Thread(target=subscribe)
        t.start()
        wait_for_streams(node, 1)
        status, out = run("caller", "kv:put", "v2")
        t.join(40)
        check(status == 200 and [(e[0], e[1], e[2].get("payload")) for e in got] ==
              [("2", "stored", "v2")], "a nested call's event is pushed to the live "
              "subscribers of its context: %r" % got)
        # a Faasm function chaining to a component context by name (its `run`)
        status, doc = deploy(node, faasm_chain, "faasm-chain")
        check(status == 201 and doc.get("abi") == "faasm", "the Faasm app deploys (%d)" % status)
        context(node, "fa", doc["id"])
        status, out = call(node, "fa", "_start", b"name svc")
        check(status == 200 and out == b"rc=0 out=ran: hi", "Faasm -> component: %r" % out)
        # a GET view calls on through the same read transaction
        q = urllib.parse.quote(json.dumps(["svc:echo", "in a view"]))
        status, hdrs, out = node.request("GET", "/v1/contexts/caller/call/run?input=" + q,
                                         headers={"Accept": "application/octet-stream"})
        check(status == 200 and out == b"echo: in a view", "funcs from a view: %r" % out)
        node.stop()
    return nodes.report()


if __name__ == "__main__":
    sys.exit(main())
