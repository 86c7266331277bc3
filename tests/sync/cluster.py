"""tests/sync/cluster.py — what sync_e2e.py and netns_test.py share: the
model of acknowledged writes, the writers that feed it, the state digest
of a node and the wait for convergence.

A digest is every CRDT key of a context with its JSON value, read through
the HTTP API (GET .../crdt, every page, then .../crdt/{key}), so two nodes
agree exactly when their digests are equal. The model records each write
as acknowledged (the node answered 200: it is durable there and must
reach every node) or uncertain (no answer: it may or may not have
committed), and checks a converged digest against both.
"""
import itertools
import json
import threading
import time
import urllib.parse

failures = []


def check(cond, what):
    """Records a failed check (the test's exit status) and says so."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


class Model:
    """Writes made by the writers: per counter key the acknowledged and the
    attempted increments; per set key the elements whose add (or remove)
    was acknowledged or only attempted; per register the values tried."""

    def __init__(self):
        self.mu = threading.Lock()
        self.inc_acked, self.inc_tried = {}, {}
        self.add_acked, self.add_tried = {}, {}
        self.rem_acked, self.rem_tried = {}, {}
        self.lww_tried = {}

    def note(self, op, key, arg, acked):
        with self.mu:
            if op == "inc":
                self.inc_tried[key] = self.inc_tried.get(key, 0) + 1
                if acked:
                    self.inc_acked[key] = self.inc_acked.get(key, 0) + 1
            elif op == "add":
                self.add_tried.setdefault(key, set()).add(arg)
                if acked:
                    self.add_acked.setdefault(key, set()).add(arg)
            elif op == "rem":
                self.rem_tried.setdefault(key, set()).add(arg)
                if acked:
                    self.rem_acked.setdefault(key, set()).add(arg)
            elif op == "set":
                self.lww_tried.setdefault(key, set()).add(arg)

    def acked_count(self):
        with self.mu:
            return (sum(self.inc_acked.values()) + sum(len(v) for v in self.add_acked.values())
                    + sum(len(v) for v in self.rem_acked.values()))

    def check(self, digest):
        """The ways digest (key -> {"type", "value"}) breaks the model: a list
        of sentences, empty when it holds. Each element is added by one
        writer only and removed, if at all, by the same writer after its
        add was acknowledged, so the expected set is exact for the
        acknowledged writes."""
        bad = []
        with self.mu:
            for key, n in self.inc_tried.items():
                got = (digest.get(key) or {}).get("value", 0)
                lo = self.inc_acked.get(key, 0)
                if not isinstance(got, int) or not lo <= got <= n:
                    bad.append("counter %s is %r: want %d acknowledged increments (at most %d "
                               "tried)" % (key, got, lo, n))
            for key in set(self.add_tried) | set(self.rem_tried):
                got = set(elements((digest.get(key) or {}).get("value")))
                acked = self.add_acked.get(key, set()) - self.rem_tried.get(key, set())
                gone = self.rem_acked.get(key, set())
                lost = sorted(acked - got)
                back = sorted(gone & got)
                extra = sorted(got - self.add_tried.get(key, set()))
                if lost:
                    bad.append("set %s lost %d acknowledged adds: %s" % (key, len(lost), lost[:5]))
                if back:
                    bad.append("set %s kept %d acknowledged removes: %s" % (key, len(back),
                                                                            back[:5]))
                if extra:
                    bad.append("set %s has elements never added: %s" % (key, extra[:5]))
            for key, tried in self.lww_tried.items():
                got = (digest.get(key) or {}).get("value")
                if got not in tried:
                    bad.append("register %s is %r: not a value written" % (key, got))
        return bad


def elements(v):
    """An ORSet's JSON value as a list of element strings."""
    if v is None:
        return []
    if isinstance(v, dict):
        v = v.get("elements", v.get("value", []))
    return [e if isinstance(e, str) else json.dumps(e) for e in v]


def digest(node, ctx, request=None):
    """Every CRDT key of ctx on node with its JSON value, or None when the
    node does not answer (stopped, partitioned). request(method, path)
    -> (status, doc) defaults to node.json."""
    req = request or node.json
    out, after = {}, None
    try:
        while True:
            q = "/v1/contexts/%s/crdt?limit=1000" % ctx
            if after is not None:
                q += "&after=" + urllib.parse.quote(after, safe="")
            s, doc = req("GET", q)
            if s == 404:
                return {}
            if s != 200:
                return None
            for item in doc["items"]:
                k = item["key"]
                s, v = req("GET", "/v1/contexts/%s/crdt/%s" % (ctx, urllib.parse.quote(k, safe="")))
                if s != 200:
                    return None
                out[k] = v
            after = doc.get("next")
            if not after:
                return out
    except (OSError, ValueError):
        return None


def diff(a, b):
    """The keys where digests a and b differ, as short text."""
    lines = []
    for k in sorted(set(a or {}) | set(b or {})):
        va, vb = (a or {}).get(k), (b or {}).get(k)
        if va != vb:
            lines.append("  %s: %s  vs  %s" % (k, json.dumps(va)[:200], json.dumps(vb)[:200]))
    return "\n".join(lines[:20]) + ("\n  ..." if len(lines) > 20 else "")


# How long convergence is waited for: it returns as soon as the digests
# agree, so only a failure waits this long. Generous: under load 20+ and
# ASan a node restarting and catching up from a stream took over 60 s.
CONVERGE_S = 180


def converge(readers, ctx, deadline_s=CONVERGE_S):
    """Polls every reader (a function returning a node's digest, or None)
    until all answer the same digest. Returns (True, digest) or
    (False, the last digests)."""
    end = time.time() + deadline_s
    last = None
    while True:
        last = [r(ctx) for r in readers]
        if all(d is not None for d in last) and all(d == last[0] for d in last):
            return True, last[0]
        if time.time() > end:
            return False, last
        time.sleep(0.25)


def explain(ds):
    """Why digests ds differ: each one against the first."""
    out = []
    for i, d in enumerate(ds[1:], 2):
        if d is None:
            out.append("node %d: no answer" % i)
        elif d != ds[0]:
            out.append("node 1 vs node %d:\n%s" % (i, diff(ds[0], d)))
    return "\n".join(out)


class Writer(threading.Thread):
    """Writes to one node until stop is set: increments of a counter of its
    own and a shared one, adds of elements of its own to a shared set
    (every fourth one removed again once acknowledged), and sets of a
    shared register. call(fn, body) -> HTTP status, or raises OSError."""

    runs = itertools.count(1)  # elements differ between writers of one name

    def __init__(self, name, call, model, stop, pause=0.0):
        super().__init__(daemon=True)
        self.name_, self.call, self.model, self.stop, self.pause = name, call, model, stop, pause
        self.i = 0
        self.run_no = next(Writer.runs)

    def op(self, fn, key, arg=None):
        body = key if arg is None else "%s %s" % (key, arg)
        try:
            acked = self.call(fn, body.encode()) == 200
        except OSError:
            acked = False
        self.model.note(fn, key, arg, acked)
        return acked

    def run(self):
        while not self.stop.is_set():
            self.i += 1
            i = self.i
            self.op("inc", "cnt:" + self.name_)
            self.op("inc", "cnt:shared")
            elem = "%s-%d-%d" % (self.name_, self.run_no, i)
            if self.op("add", "set", elem) and i % 4 == 0:
                self.op("rem", "set", elem)
            if i % 5 == 0:
                self.op("set", "reg", elem)
            if self.pause:
                time.sleep(self.pause)


class ServedNode:
    """What the nodes of sync_e2e.py (peer links) and nats_e2e.py (NATS)
    share: self.node, a weft serve of tests/server/nodes.py, on self.data."""

    def json(self, method, path, body=None):
        return self.node.json(method, path, body)

    def call(self, ctx, fn, body=b""):
        s, h, data = self.node.request("POST", "/v1/contexts/%s/call/%s" % (ctx, fn), body)
        return s, data

    def log(self):
        with open(self.data + "-log", errors="replace") as f:
            return f.read()

    def stop(self):
        self.node.stop()


def deploy(node, path):
    """Deploys the app at path on node; its id."""
    with open(path, "rb") as f:
        s, doc = node.json("POST", "/v1/apps?name=sync_app", f.read())
    assert s == 201, doc
    return doc["id"]


def create(node, app, ctx, members):
    """Creates context ctx of app on node with the nodes members."""
    s, doc = node.json("POST", "/v1/contexts",
                       json.dumps({"app": app, "name": ctx, "members": [m.id for m in members]}))
    assert s == 201, doc
    return doc


def writers(ns, ctx, model, stop, pause=0.0):
    """A started Writer on each node of ns (ServedNode), in context ctx."""
    ws = []
    for i, n in enumerate(ns, 1):
        def call(fn, body, n=n):
            return n.call(ctx, fn, body)[0]
        ws.append(Writer("n%d" % i, call, model, stop, pause))
    for w in ws:
        w.start()
    return ws


def converged(ns, ctx, model):
    """Waits for equal digests; checks them against the model."""
    ok, d = converge([lambda c, n=n: digest(n, c) for n in ns], ctx)
    if not check(ok, "the nodes converge within %d s:\n" % CONVERGE_S +
                 (explain(d) if not ok else "")):
        return None
    bad = model.check(d) if model else []
    check(not bad, "the converged state matches the model:\n  " + "\n  ".join(bad))
    return d


def run_writes(ns, ctx, seconds=None, during=None, pause=0.0, model=None):
    """Writes on every node of ns for `seconds` (or while during() runs);
    returns the model, a new one unless given."""
    model, stop = model or Model(), threading.Event()
    ws = writers(ns, ctx, model, stop, pause)
    try:
        if during:
            during()
        else:
            time.sleep(seconds)
    finally:
        stop.set()
        for w in ws:
            w.join(60)
    return model
