#!/usr/bin/env python3
"""tests/server/http_out_e2e.py WEFT ABI GUEST — outbound HTTP for guests
(docs/http-client.md) through a real `weft serve`, for one ABI:

  calimero    GUEST is cal_net.wasm (tests/calimero/guests/cal_net.c):
              `fetch` gives 0 and the body in the register, 1 otherwise
  cosmictron  GUEST is cosm_net.wasm (tests/cosmictron/guests/cosm_net.c):
              `cosm.http_request` gives 0 and an HttpResponse, 5 denied

An upstream HTTP server (nodes.HttpUpstream) runs in this process on a
free loopback port: /ok/echo answers with the method, the X-Test header
and the body it got, /ok/big with 2 MiB, /ok/slow never answers (until the
test ends), /ok/redirect a 302 to /ok/echo, /other/ is outside the
allowlist, and it counts the requests it got. Checked: an allowed GET, a POST with a header
and a body, a URL outside the allowlist (and another app) denied without a
request made, a node with no outbound_http denying everything, a response
over max_response_bytes, a request that times out ends the call (no
timing assertion: only that it ends, with the error), a redirect returned
as is and never followed, a file:// URL refused, `weft run` denying
every request; Cosmictron: an output
buffer too small gets the length needed, and asking again gets the kept
response without a second request.
"""
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sync"))
import nodes  # noqa: E402
from nodes import Node, kill_started  # noqa: E402
from cluster import check, failures  # noqa: E402

WEFT, ABI, GUEST = sys.argv[1], sys.argv[2], sys.argv[3]
nodes.WEFT = WEFT


def output(doc):
    if "output_base64" in doc:
        return base64.b64decode(doc["output_base64"])
    return doc.get("output", "").encode()


def lp(b):
    return struct.pack("<I", len(b)) + b


def borsh_headers(hs):
    return struct.pack("<I", len(hs)) + b"".join(lp(k.encode()) + lp(v.encode()) for k, v in hs)


def bsatn_str(s):
    return lp(s if isinstance(s, bytes) else s.encode())


class Abi:
    """One request through the ABI under test; .rc, .status, .body, .headers."""

    def __init__(self, node, ctx):
        self.node, self.ctx = node, ctx

    def fetch(self, method, url, header=None, body=b"", cap=2 << 20):
        if ABI == "calimero":
            inp = lp(url.encode()) + lp(method.encode()) + \
                lp(borsh_headers([header] if header else [])) + body
            s, doc = self.node.json("POST", "/v1/contexts/%s/call/fetch" % self.ctx, inp)
            assert s == 200, (s, doc)
            out = output(doc)
            rc, n = struct.unpack("<II", out[:8])
            return {"rc": rc, "reg": None if n == 0xFFFFFFFF else out[8:8 + n]}
        args = bsatn_str(method) + bsatn_str(url) + bsatn_str(header[0] if header else "") + \
            bsatn_str(header[1] if header else "") + lp(body) + struct.pack("<I", cap)
        s, doc = self.node.json("POST", "/v1/contexts/%s/call/fetch" % self.ctx, args)
        assert s == 200, (s, doc)
        r = {"lines": [], "headers": {}}
        for entry in doc.get("logs", []):
            line = entry if isinstance(entry, str) else entry.get("msg", entry.get("line", ""))
            if ": " in line and line.split(": ", 1)[0] in ("info", "INFO"):
                line = line.split(": ", 1)[1]
            r["lines"].append(line)
            if line.startswith("rc=") or line.startswith("again rc="):
                r["rc" if line.startswith("rc=") else "again"] = int(line.split("=")[1])
            elif line.startswith("status="):
                r["status"] = int(line.split("=")[1])
            elif line.startswith("need="):
                r["need"] = int(line.split("=")[1])
            elif line.startswith("body="):
                r["body"] = line[5:].encode()
            elif line.startswith("body_len="):
                r["body_len"] = int(line.split("=")[1].split()[0])
            elif line.startswith("h "):
                k, v = line[2:].split(": ", 1)
                r["headers"][k.lower()] = v
        return r


def deploy(node, name):
    with open(GUEST, "rb") as f:
        s, doc = node.json("POST", "/v1/apps?name=" + name, f.read())
    assert s == 201, doc
    s, doc = node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "c"}))
    assert s == 201, doc
    return Abi(node, "c")


def ok(r, what):
    """The request was answered: (status, body) as the ABI shows them."""
    if ABI == "calimero":
        check(r["rc"] == 0, "%s: fetch gives 0: %r" % (what, r))
        return r["reg"]
    check(r.get("rc") == 0 and r.get("status") == 200, "%s: 0 and status 200: %r" % (what, r))
    return r.get("body", b"")


def denied(r, what):
    if ABI == "calimero":
        reason = (r["reg"] or b"").decode(errors="replace")
        check(r["rc"] == 1 and any(w in reason for w in ("allowlist", "not allowed",
                                                         "only http and https")),
              "%s: 1 and the reason in the register: %r" % (what, r))
    else:
        check(r.get("rc") == 5, "%s: 5: %r" % (what, r))


def failed(r, what, words):
    """Sent, no answer: Calimero 1 with the reason in the register;
    Cosmictron 0 with status 0 and the reason as the body."""
    if ABI == "calimero":
        reason = (r["reg"] or b"").decode(errors="replace")
        check(r["rc"] == 1 and any(w in reason for w in words),
              "%s: 1 and the reason (%s) in the register: %r" % (what, words, r))
    else:
        reason = r.get("body", b"").decode(errors="replace")
        check(r.get("rc") == 0 and r.get("status") == 0 and any(w in reason for w in words),
              "%s: status 0 and the reason (%s): %r" % (what, words, r))


def run(tmp, up):
    base = "http://127.0.0.1:%d" % up.port
    name = "net_" + ABI
    cfg = {"outbound_http": {"allow": [{"app": name, "urls": [base + "/ok/"]},
                                       {"app": "nobody", "urls": [base + "/"]}],
                             "timeout_ms": 1500, "max_response_bytes": 1 << 20}}
    n = Node(os.path.join(tmp, "n1"), config=cfg)
    a = deploy(n, name)

    body = ok(a.fetch("GET", base + "/ok/echo?q=1"), "GET")
    check(body == b"GET /ok/echo?q=1 x-test=- body=", "GET answered: %r" % body)
    body = ok(a.fetch("POST", base + "/ok/echo", ("X-Test", "hello"), b"payload"), "POST")
    check(body == b"POST /ok/echo x-test=hello body=payload", "POST with header and body: %r" % body)
    if ABI == "cosmictron":
        r = a.fetch("GET", base + "/ok/echo")
        check(r["headers"].get("x-upstream") == "yes", "response headers: %r" % r)

    before = up.count
    denied(a.fetch("GET", base + "/other/echo"), "a path outside the allowlist")
    denied(a.fetch("GET", "http://localhost:%d/ok/echo" % up.port), "another host name")
    denied(a.fetch("GET", "http://127.0.0.1:%d/ok/echo" % (up.port + 1)),
           "another port")
    denied(a.fetch("GET", "file:///etc/passwd"), "file://")
    check(up.count == before, "no request made for denied ones: %d" % (up.count - before))

    # a 404 is an answer (Calimero: 1 with the body)
    r = a.fetch("GET", base + "/ok/missing")
    if ABI == "calimero":
        check(r["rc"] == 1 and r["reg"] == b"no such thing", "404: 1 with its body: %r" % r)
    else:
        check(r.get("rc") == 0 and r.get("status") == 404, "404 as status: %r" % r)

    failed(a.fetch("GET", base + "/ok/big"), "a response over max_response_bytes",
           ["max_response_bytes"])
    failed(a.fetch("GET", base + "/ok/slow"), "a request that never gets an answer ends",
           ["timed out", "Timeout", "timeout"])

    before = up.count
    r = a.fetch("GET", base + "/ok/redirect")
    check(up.count == before + 1, "a redirect is not followed: %d requests" % (up.count - before))
    if ABI == "calimero":
        check(r["rc"] == 0 and r["reg"] == b"moved", "a 302 is the answer: %r" % r)
    else:
        check(r.get("rc") == 0 and r.get("status") == 302 and
              r["headers"].get("location") == "/ok/echo", "a 302 is the answer: %r" % r)

    if ABI == "cosmictron":
        before = up.count
        r = a.fetch("GET", base + "/ok/echo", cap=16)
        check(r.get("rc") == 9 and r.get("need", 0) > 16 and r.get("again") == 0 and
              r.get("body") == b"GET /ok/echo x-test=- body=",
              "a small buffer: 9, the length, then the response: %r" % r)
        check(up.count == before + 1, "asked twice, sent once: %d" % (up.count - before))
    check(n.stop() == 0, "node 1 stops cleanly")

    # the call's own deadline bounds a request more than timeout_ms: a
    # call of 1 s fetching what never answers (timeout_ms 60 s) ends, as
    # a failed request or, its deadline passed, as a trapped call
    cfg = {"outbound_http": {"allow": [{"app": "*", "urls": [base + "/ok/"]}],
                             "timeout_ms": 60000}, "limits": {"timeout_ms": 1000}}
    n3 = Node(os.path.join(tmp, "n3"), config=cfg)
    deploy(n3, name)
    if ABI == "calimero":
        inp = lp((base + "/ok/slow").encode()) + lp(b"GET") + lp(borsh_headers([]))
    else:
        inp = bsatn_str("GET") + bsatn_str(base + "/ok/slow") + bsatn_str("") + bsatn_str("") + \
            lp(b"") + struct.pack("<I", 1 << 16)
    s, doc = n3.json("POST", "/v1/contexts/c/call/fetch", inp)
    said = json.dumps(doc) + output(doc or {}).decode(errors="replace")
    check((s == 200 and "timed out" in said) or (s == 422 and "TRAP" in said),
          "a request past the call's deadline ends the call: %s %s" % (s, said))
    check(n3.stop() == 0, "node 3 stops cleanly")

    # off by default: a node without outbound_http denies everything
    n2 = Node(os.path.join(tmp, "n2"))
    a2 = deploy(n2, name)
    before = up.count
    denied(a2.fetch("GET", base + "/ok/echo"), "no outbound_http: denied")
    check(up.count == before, "no request made")
    check(n2.stop() == 0, "node 2 stops cleanly")

    # weft run has no outbound HTTP at all: denied, nothing sent
    before = up.count
    if ABI == "calimero":
        inp = lp((base + "/ok/echo").encode()) + lp(b"GET") + lp(borsh_headers([]))
        r = subprocess.run([WEFT, "run", "--invoke", "fetch", GUEST], input=inp,
                           capture_output=True)
        check(r.returncode == 0 and r.stdout[:4] == struct.pack("<I", 1) and
              b"not allowed" in r.stdout, "weft run: fetch gives 1 and why: %r" % (r,))
    else:
        args = bsatn_str("GET") + bsatn_str(base + "/ok/echo") + bsatn_str("") + \
            bsatn_str("") + lp(b"") + struct.pack("<I", 4096)
        r = subprocess.run([WEFT, "run", "--data-dir", os.path.join(tmp, "run"), "--invoke",
                            "fetch", GUEST], input=args, capture_output=True)
        check(r.returncode == 0 and b"rc=5" in r.stderr, "weft run: 5: %r" % (r,))
    check(up.count == before, "weft run made no request")

    # a bad allowlist is refused at start
    bad = {"outbound_http": {"allow": [{"app": "*", "urls": ["ftp://127.0.0.1/"]}]}}
    try:
        Node(os.path.join(tmp, "n3"), config=bad)
        check(False, "an ftp:// rule is refused")
    except RuntimeError as e:
        check("only http and https" in str(e), "the refusal says why: %s" % e)


def main():
    tmp = tempfile.mkdtemp(prefix="weft-httpout-")
    up = nodes.HttpUpstream()
    try:
        run(tmp, up)
    except Exception as e:  # noqa: BLE001 — any failure fails the test, with its story
        check(False, "%r" % (e,))
        nodes.print_logs(tmp)
    finally:
        up.close()
        kill_started()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failures else 0)


main()
