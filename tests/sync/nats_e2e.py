#!/usr/bin/env python3
"""tests/sync/nats_e2e.py WEFT SYNC_APP_WASM CASE — replication through NATS
JetStream (docs/sync.md "NATS transport").

Real `nats-server -js` processes on free loopback ports with temporary
stores, and real `weft serve --sync nats://...` nodes replicating the
context of guests/sync_app.c (cluster.py: writers, model, digests). One
CASE per CTest test:

  stream      one node, one context: the context's stream exists with the
              node's ops in it (deduplicated: one message per batch) and the
              node's durable consumer on it (the server's /jsz)
  late        a node started before its nats-server: it starts, connects in
              the background once the server is up, and publishes
  converge    3 nodes through one server, writing at once: equal digests,
              equal to the model; GET /v1/peers lists the others "nats"
  offline     node 3 stopped during writes, then nodes 1 and 2 stopped and
              node 3 started alone: it catches up from the streams alone
              (its durable consumer resumes), to the state the others had
  server_restart  the nats-server killed (SIGKILL) during writes and started
              again on the same port and store: nothing acknowledged lost
  cluster     5 nodes through a 3-server JetStream cluster (streams of 3
              replicas), a server killed and restarted during the writes
  partition   node 3's only server stopped (SIGSTOP) for 4 s during writes
  snapshot    node 3 stopped and removed from the members, nodes 1 and 2
              write and compact (sync_compact_ms/keep of --config), node 3
              added again and the stream purged: node 3 restarts and
              converges through a snapshot (its log says one was applied)
  nkey        a server that admits one nkey user: two nodes given its seed
              file (--nats-creds) replicate, a node without it does not start
              ("Authorization Violation"), and a node whose server is
              restarted with that authorization logs the same reason when
              its connection closes for good
              (skipped without python3-cryptography, which makes the key)
  presence    3 nodes on one server, a context of nodes 1 and 2: node 3,
              which shares nothing, is no peer of theirs nor they of it
              (GET /v1/peers); added to the members, it is invited, joins and
              converges, and then all three are peers
  vv_request  anti-entropy's version vectors go as NATS requests: a plain
              client on the bus sees every VV to a node carry the sender's
              reply subject weft.r.<id>, and the other node's VV answer there
  tls         a server that requires TLS, its certificate from a CA made
              with openssl for the test: two nodes given it ("nats_ca") replicate;
              a node given another CA does not start and says TLS's reason,
              nor does a node without --nats-ca
  jwt         a server in operator mode (operator, account and user JWTs made
              for the test, nkeys signed with python3-cryptography): two
              nodes given a .creds file replicate; a node given the creds of
              a user of an account the server does not know does not start
              and says the server's reason

Exit 77 (skipped) with a message when nats-server is not installed. Never a
timing assertion: convergence is polled with a 180 s deadline, other
conditions with 120 s (they return as soon as they hold).
"""
import hashlib
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
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import nodes  # noqa: E402
from nodes import Node, kill_started  # noqa: E402
import cluster  # noqa: E402
from cluster import check, failures  # noqa: E402

WEFT, APP, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
nodes.WEFT = WEFT
NATS = shutil.which("nats-server") or ("/usr/sbin/nats-server"
                                       if os.access("/usr/sbin/nats-server", os.X_OK) else None)
servers = []


free_port = nodes.free_port


class NatsServer:
    """nats-server with JetStream on loopback; restart() keeps ports and store."""

    def __init__(self, tmp, name="s1", cport=0, routes=(), start=True, config=None):
        self.dir, self.name = os.path.join(tmp, name), name
        os.makedirs(self.dir, exist_ok=True)
        self.port, self.mport = free_port(), free_port()
        self.cport, self.routes = cport, list(routes)  # a cluster's route port, its peers'
        self.config = config  # a config file's text, or None
        self.proc = None
        servers.append(self)
        if start:
            self.start()

    def start(self):
        self.spawn()
        self.wait()

    def spawn(self):
        self.log = open(self.dir + "-log", "ab")
        args = [NATS, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.mport), "-js",
                "-sd", self.dir, "-n", self.name]
        if self.config:
            path = self.dir + ".conf"
            with open(path, "w") as f:
                f.write(self.config)
            args += ["-c", path]
        if self.cport:
            args += ["--cluster_name", "weft", "--cluster", "nats://127.0.0.1:%d" % self.cport,
                     "--routes", ",".join("nats://127.0.0.1:%d" % p for p in self.routes)]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=nodes.die_with_parent)

    def wait(self):
        end = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz"
                                            % self.mport, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert self.proc.poll() is None and time.time() < end, "nats-server did not start"
            time.sleep(0.05)

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def jsz(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/jsz?streams=true&consumers=true&config=true"
                                    % self.mport, timeout=5) as r:
            return json.loads(r.read())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class NatsNode(cluster.ServedNode):
    """A weft serve replicating through NATS; restart() keeps its data and port."""

    def __init__(self, data, url, port=0, extra=()):
        self.data, self.nats, self.extra = data, url, list(extra)
        self.start(port)

    def start(self, port=0):
        self.node = Node(self.data, port=port, extra=["--sync", self.nats] + self.extra)
        self.port, self.url = self.node.port, self.node.url
        self.id = self.node.json("GET", "/v1/node")[1]["id"]

    def restart(self):
        self.node.log.close()
        self.start(self.port)


def deploy(node):
    return cluster.deploy(node, APP)


create = cluster.create


def wait_for(what, fn, deadline_s=120):
    end = time.time() + deadline_s
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.1)
    return check(False, what)


def setup(tmp, srv, n=3, ctx="c", urls=None, extra=()):
    ns = [NatsNode(os.path.join(tmp, "n%d" % (i + 1)), urls[i] if urls else srv.url, extra=extra)
          for i in range(n)]
    app = deploy(ns[0])
    create(ns[0], app, ctx, ns[1:])
    for node in ns[1:]:
        assert wait_for("node %s joins %s" % (node.url, ctx),
                        lambda: node.json("GET", "/v1/contexts/" + ctx)[0] == 200), node.log()[-3000:]
    return ns


def stable(what, fn, quiet_s=3):
    """fn's value once it has not changed for quiet_s seconds (polled)."""
    last, since = [fn()], [time.time()]

    def quiet():
        v = fn()
        if v != last[0]:
            last[0], since[0] = v, time.time()
        return time.time() - since[0] >= quiet_s
    wait_for(what, quiet)
    return last[0]


run_writes, converged = cluster.run_writes, cluster.converged


def streams(srv):
    out = {}
    for acc in srv.jsz().get("account_details", []):
        for st in acc.get("stream_detail", []):
            out[st["name"]] = st
    return out


# ---- cases ---------------------------------------------------------------------


def case_stream(tmp):
    srv = NatsServer(tmp)
    n1 = NatsNode(os.path.join(tmp, "n1"), srv.url)
    app = deploy(n1)
    create(n1, app, "c", [])
    for i in range(20):
        check(n1.call("c", "inc", b"k")[0] == 200, "a write")
    durable = "n" + n1.id[:16]

    def ready():
        st = [s for s in streams(srv).values() if s["name"].startswith("WEFT_")]
        if len(st) != 1:
            return False
        cons = [c["name"] for c in st[0].get("consumer_detail") or []]
        return st[0]["state"]["messages"] >= 1 and durable in cons
    wait_for("the context's stream holds the node's ops and its durable consumer", ready)
    st = [s for s in streams(srv).values() if s["name"].startswith("WEFT_")][0]
    check(st["config"]["subjects"][0].startswith("weft.c.") and
          st["config"]["duplicate_window"] > 0,
          "the stream's subjects and duplicate window: %s" % st["config"])
    # 21 ops (the members' set and 20 increments) in at most 21 batches
    check(1 <= st["state"]["messages"] <= 21, "one message per batch: %s" % st["state"])
    # a restart publishes nothing again: it goes on past the stream's last.
    # The node publishes its batches behind the calls, so each count is read
    # once it has stayed the same for 3 s (a batch still in flight when
    # `before` was read failed this under ASan, and once at load 20 when
    # "the same" meant a second), and `before` once the node has stopped.
    def count():
        return streams(srv)[st["name"]]["state"]["messages"]
    stable("the node's batches are all in the stream", count)
    n1.stop()
    before = count()
    n1.restart()
    check(n1.call("c", "inc", b"k")[0] == 200, "a write after the restart")
    wait_for("the write after the restart is published", lambda: count() > before)
    after = stable("whatever the restart publishes is in the stream", count)
    check(after == before + 1,
          "the restart republished nothing: %d messages, then %d" % (before, after))


def case_late(tmp):
    srv = NatsServer(tmp, start=False)  # its port chosen, nothing listening yet
    n1 = NatsNode(os.path.join(tmp, "n1"), srv.url)
    check("not reachable yet" in n1.log(), "the node started, connecting in the background:\n"
          + n1.log()[-1000:])
    srv.start()
    wait_for("the node connects once the server is up", lambda: "connected to" in n1.log())
    app = deploy(n1)
    create(n1, app, "c", [])
    check(n1.call("c", "inc", b"k")[0] == 200, "a write")
    wait_for("the write reaches the context's stream",
             lambda: any(s["name"].startswith("WEFT_") and s["state"]["messages"] >= 1
                         for s in streams(srv).values()))


def case_converge(tmp):
    srv = NatsServer(tmp)
    ns = setup(tmp, srv)
    model = run_writes(ns, "c", 3)
    check(model.acked_count() > 50, "writes were acknowledged (%d)" % model.acked_count())
    converged(ns, "c", model)
    for n in ns:  # converged without a snapshot: /metrics says none (the snapshot case: one)
        m = metrics(n)
        check(m.get('weft_sync_snapshots_total{dir="received"}') == 0 and
              m.get('weft_sync_snapshots_total{dir="sent"}') == 0,
              "%s: no snapshot counted: %s" % (n.url, snap_metrics(m)))
    for n in ns:  # GET /v1/peers: the nodes heard on NATS
        s, doc = n.json("GET", "/v1/peers")
        up = {p["id"]: p for p in doc.get("peers", []) if p["state"] == "up"}
        check(set(up) == {m.id for m in ns if m is not n} and
              all(p["addr"] == "nats" for p in up.values()),
              "%s: GET /v1/peers lists the two others, through nats: %s" % (n.url, doc))


def case_offline(tmp):
    srv = NatsServer(tmp)
    ns = setup(tmp, srv)
    model = run_writes(ns, "c", 1)
    converged(ns, "c", model)
    ns[2].stop()
    model = run_writes(ns[:2], "c", 2, model=model)
    d = converged(ns[:2], "c", model)
    ns[0].stop()
    ns[1].stop()
    ns[2].restart()  # alone: only the streams have what it missed
    ok, d3 = cluster.converge([lambda c: cluster.digest(ns[2], c),
                               lambda c: d], "c")
    check(ok, "node 3, alone with NATS, catches up from the stream:\n" +
          (cluster.explain(d3) if not ok else ""))


def nats_request(srv, subject, payload=b""):
    """One request on srv in the plain NATS protocol (no client library):
    the reply's payload, as JSON."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.w 1\r\n'
                  b"PUB %s _INBOX.w %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
        while True:
            line = f.readline()
            assert line, "nats-server closed the connection"
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                body = f.read(int(line.split()[-1]))
                return json.loads(body)
            elif line.startswith(b"-ERR"):
                raise AssertionError(line.decode(errors="replace"))


def case_snapshot(tmp):
    """docs/sync.md "Compaction and snapshots": a node far behind, whose
    missing ops are compacted on the others and purged from the stream,
    takes a snapshot through NATS."""
    srv = NatsServer(tmp)
    conf = os.path.join(tmp, "compact.json")  # compaction often, keeping 1 op of each origin
    with open(conf, "w") as f:
        json.dump({"sync_compact_ms": 100, "sync_compact_keep": 1}, f)
    ns = setup(tmp, srv, extra=["--config", conf])
    model = run_writes(ns, "c", 1)
    converged(ns, "c", model)
    ns[2].stop()
    # removed, node 3 no longer holds compaction back (docs: "A member gone
    # for good ... if it comes back later, it takes a snapshot")
    s, doc = ns[0].json("POST", "/v1/contexts/c/members", json.dumps({"remove": [ns[2].id]}))
    check(s == 200 and ns[2].id not in doc.get("members", []), "members remove: %s" % doc)
    wait_for("node 2 saw the removal", lambda: ns[2].id not in
             ns[1].json("GET", "/v1/contexts/c")[1].get("members", []))
    model = run_writes(ns[:2], "c", 2, model=model)
    d = converged(ns[:2], "c", model)
    time.sleep(1)  # compaction runs (every 100 ms) drop what node 3 lacks
    s, doc = ns[0].json("POST", "/v1/contexts/c/members", json.dumps({"add": [ns[2].id]}))
    check(s == 200 and ns[2].id in doc.get("members", []), "members add again: %s" % doc)
    wait_for("node 2 saw it added again", lambda: ns[2].id in
             ns[1].json("GET", "/v1/contexts/c")[1].get("members", []))
    stream = "WEFT_" + hashlib.sha256(b"c").hexdigest()[:32]
    r = nats_request(srv, "$JS.API.STREAM.PURGE." + stream)
    check(r.get("success") and r.get("purged", 0) > 0, "the stream purged: %s" % r)
    ns[2].restart()
    ok, d3 = cluster.converge([lambda c: cluster.digest(ns[2], c), lambda c: d], "c")
    check(ok, "node 3 converges:\n" + (cluster.explain(d3) if not ok else ""))
    check("a snapshot of a context is applied" in ns[2].log(),
          "node 3 took a snapshot:\n" + ns[2].log()[-2000:])
    # /metrics counts it: node 3 took one (in chunks it applied), one of
    # nodes 1 and 2 served it
    # (refreshed with the peers' list, every 100 ms: polled)
    wait_for("node 3's /metrics counts the snapshot it took",
             lambda: (lambda m: m.get('weft_sync_snapshots_total{dir="received"}', 0) >= 1 and
                      m.get('weft_sync_snapshot_chunks_total{dir="received"}', 0) >= 1)(
                          metrics(ns[2])))
    wait_for("nodes 1 and 2's /metrics count the snapshot served",
             lambda: sum(metrics(n).get('weft_sync_snapshots_total{dir="sent"}', 0)
                         for n in ns[:2]) >= 1)


def metrics(node):
    """GET /metrics of node as {"name{labels}": value}."""
    s, h, data = node.node.request("GET", "/metrics")
    assert s == 200, s
    out = {}
    for line in data.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def snap_metrics(m):
    return {k: v for k, v in m.items() if "snapshot" in k}


def case_server_restart(tmp):
    srv = NatsServer(tmp)
    ns = setup(tmp, srv)

    def during():
        time.sleep(1)
        srv.kill()
        time.sleep(1)
        srv.start()
        time.sleep(1)
    model = run_writes(ns, "c", during=during)
    converged(ns, "c", model)


def nats_cluster(tmp):
    """Three nats-servers routed into one JetStream cluster."""
    cports = [free_port() for _ in range(3)]
    ss = [NatsServer(tmp, "s%d" % (i + 1), cport=cports[i],
                     routes=[p for p in cports if p != cports[i]], start=False) for i in range(3)]
    # all spawned first: a clustered server is healthy once it sees the
    # others (and from this thread: a server dies with the thread that
    # started it, PR_SET_PDEATHSIG)
    for srv in ss:
        srv.spawn()
    for srv in ss:
        srv.wait()
    return ss


def case_cluster(tmp):
    """5 weft nodes through a 3-server NATS cluster (streams of 3 replicas),
    each node on its own server first (the others listed to fail over to);
    one server killed during the writes and started again."""
    ss = nats_cluster(tmp)
    urls = []
    for i in range(5):
        order = ss[i % 3:] + ss[:i % 3]
        urls.append(",".join(s.url for s in order))
    ns = setup(tmp, ss[0], n=5, urls=urls, extra=["--nats-replicas", "3"])

    def during():
        time.sleep(1)
        ss[1].kill()
        time.sleep(2)
        ss[1].start()
        time.sleep(1)
    model = run_writes(ns, "c", during=during)
    check(model.acked_count() > 50, "writes were acknowledged (%d)" % model.acked_count())
    converged(ns, "c", model)


def case_partition(tmp):
    """Node 3's only NATS server stopped (SIGSTOP: its connections hang, as
    in a partition) during writes on every node, then continued: node 3 is
    cut from the others meanwhile, and everything converges after."""
    ss = nats_cluster(tmp)
    urls = [ss[0].url, ss[1].url, ss[2].url]
    ns = setup(tmp, ss[0], urls=urls)

    def during():
        time.sleep(1)
        ss[2].proc.send_signal(signal.SIGSTOP)
        time.sleep(4)
        ss[2].proc.send_signal(signal.SIGCONT)
        time.sleep(1)
    model = run_writes(ns, "c", during=during)
    converged(ns, "c", model)


def nkey_user(tmp):
    """A fresh nkey user: (public key "U...", path of its seed file "SU...")."""
    user = nkeys_jwt()(20 << 3)
    path = os.path.join(tmp, "user.nk")
    with open(path, "w") as f:
        f.write(user.seed + "\n")
    return user.public, path


def case_nkey(tmp):
    try:
        pub, seed = nkey_user(tmp)
    except ImportError:
        print("SKIP: python3-cryptography is not installed (it makes the nkey)")
        sys.exit(77)
    srv = NatsServer(tmp, config="authorization { users = [ { nkey: %s } ] }\n" % pub)
    ns = setup(tmp, srv, n=2, extra=["--nats-creds", seed])
    model = run_writes(ns, "c", 1)
    converged(ns, "c", model)
    # Without the seed: the server refuses it at the first attempt, so the
    # node does not start, and says the server's reason.
    try:
        NatsNode(os.path.join(tmp, "n3"), srv.url)
        check(False, "a node without the seed started")
    except RuntimeError as e:
        check("--sync" in str(e) and "Authorization Violation" in str(e),
              "a node without the seed says the server's reason: %s" % e)
    # Admitted at first, refused later (its server restarted with the
    # authorization): libnats gives up at the second refusal, and the line
    # that says so carries the server's reason.
    srv2 = NatsServer(tmp, name="s2")
    n4 = NatsNode(os.path.join(tmp, "n4"), srv2.url)
    srv2.kill()
    srv2.config = srv.config
    srv2.start()
    wait_for("node 4's connection is closed for good", lambda: "closed for good" in n4.log())
    line = [ln for ln in n4.log().splitlines() if "closed for good" in ln][0]
    check("Authorization Violation" in line, "the closing line says why: %s" % line)


def up_peers(node):
    return {p["id"] for p in node.json("GET", "/v1/peers")[1].get("peers", [])
            if p["state"] == "up"}


def case_presence(tmp):
    """docs/sync.md "NATS transport": a node heard on the bus is a peer
    only when it shares a context with this one."""
    srv = NatsServer(tmp)
    ns = setup(tmp, srv, n=2)
    n3 = NatsNode(os.path.join(tmp, "n3"), srv.url)
    model = run_writes(ns, "c", 1)
    converged(ns, "c", model)
    wait_for("nodes 1 and 2 are peers", lambda: ns[1].id in up_peers(ns[0]) and
             ns[0].id in up_peers(ns[1]))
    time.sleep(2)  # four presence rounds of every node (500 ms)
    check(n3.id not in up_peers(ns[0]) | up_peers(ns[1]),
          "node 3 shares nothing: no peer of nodes 1 and 2: %s" % (up_peers(ns[0]),))
    check(not up_peers(n3), "nodes 1 and 2 are no peers of node 3: %s" % up_peers(n3))
    s, doc = ns[0].json("POST", "/v1/contexts/c/members", json.dumps({"add": [n3.id]}))
    check(s == 200 and n3.id in doc.get("members", []), "members add: %s" % doc)
    wait_for("node 3 is invited and joins",
             lambda: n3.json("GET", "/v1/contexts/c")[0] == 200)
    model = run_writes(ns + [n3], "c", 1, model=model)
    converged(ns + [n3], "c", model)
    wait_for("all three are peers", lambda: all(
        up_peers(n) == {m.id for m in ns + [n3] if m is not n} for n in ns + [n3]))


class Watcher(threading.Thread):
    """A plain NATS client (no library) subscribed to subjects, keeping
    (subject, reply, payload) of every message it sees until stopped."""

    def __init__(self, srv, subjects):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        self.f = self.sock.makefile("rb")
        self.f.readline()  # INFO
        subs = b"".join(b"SUB %s %d\r\n" % (sub.encode(), i + 1) for i, sub in enumerate(subjects))
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n' + subs + b"PING\r\n")
        while not self.f.readline().startswith(b"PONG"):  # subscribed once the server answers
            pass
        self.msgs, self.stop = [], False

    def run(self):
        try:
            while not self.stop:
                line = self.f.readline()
                if not line:
                    return
                if line.startswith(b"PING"):
                    self.sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG "):
                    parts = line.split()
                    body = self.f.read(int(parts[-1]) + 2)[:-2]
                    reply = parts[3].decode() if len(parts) == 5 else None
                    self.msgs.append((parts[1].decode(), reply, body))
        except OSError:
            pass

    def close(self):
        self.stop = True
        self.sock.close()


HDR = 1 + 32 + 64  # a frame's version, sender and signature (docs/sync.md)
VV = 0x10


def case_vv_request(tmp):
    """docs/sync.md "NATS transport": a VV to a peer is a request whose
    reply subject is the sender's weft.r.<id>; the peer answers there with
    its own VV of the context."""
    srv = NatsServer(tmp)
    w = Watcher(srv, ["weft.n.*", "weft.r.*"])
    w.start()
    ns = setup(tmp, srv, n=2)
    model = run_writes(ns, "c", 6)  # past one anti-entropy round (5 s)
    converged(ns, "c", model)
    w.close()
    ids = {n.id for n in ns}
    reqs = [(subj, reply, b) for subj, reply, b in w.msgs
            if subj.startswith("weft.n.") and len(b) > HDR and b[HDR] == VV]
    answers = [(subj, reply, b) for subj, reply, b in w.msgs
               if subj.startswith("weft.r.") and len(b) > HDR and b[HDR] == VV]
    check(len(reqs) >= 2, "VVs went to the nodes (%d)" % len(reqs))
    bad = [(subj, reply) for subj, reply, b in reqs if reply != "weft.r." + b[1:33].hex()]
    check(not bad, "every VV is a request with its sender's reply subject: %s" % bad[:3])
    check(len(answers) >= 2, "VVs answered the requests (%d)" % len(answers))
    bad = [subj for subj, reply, b in answers
           if b[1:33].hex() not in ids or "weft.r." + b[1:33].hex() == subj]
    check(not bad, "each answer comes from the other node: %s" % bad[:3])
    other = [b for subj, reply, b in w.msgs if subj.startswith("weft.r.") and b[HDR] != VV]
    check(not other, "only VVs go on reply subjects (%d others)" % len(other))


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(tmp, name):
    """A CA for the test: (cert path, key path)."""
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=weft test " + name)
    return cert, key


def case_tls(tmp):
    if not shutil.which("openssl"):
        print("SKIP: openssl is not installed (it makes the certificates)")
        sys.exit(77)
    ca, ca_key = make_ca(tmp, "ca")
    other_ca, _ = make_ca(tmp, "other-ca")
    key, csr, cert = (os.path.join(tmp, "server" + x) for x in (".key", ".csr", ".pem"))
    ext = os.path.join(tmp, "san.ext")
    with open(ext, "w") as f:  # the URL's host is checked against the certificate's names
        f.write("subjectAltName=IP:127.0.0.1,DNS:127.0.0.1\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "1", "-extfile", ext)
    srv = NatsServer(tmp, config='tls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' % (cert, key))
    conf = os.path.join(tmp, "tls.json")  # the config key; the flag for the node below
    with open(conf, "w") as f:
        json.dump({"nats_ca": ca}, f)
    ns = setup(tmp, srv, n=2, extra=["--config", conf])
    model = run_writes(ns, "c", 1)
    converged(ns, "c", model)
    try:
        NatsNode(os.path.join(tmp, "n3"), srv.url, extra=["--nats-ca", other_ca])
        check(False, "a node given another CA started")
    except RuntimeError as e:
        check("--sync" in str(e) and "unable to get local issuer certificate" in str(e),
              "a node given another CA says TLS's reason: %s" % str(e)[-600:])
    try:  # libnats goes TLS as the server asks, checking it with the system's CAs
        NatsNode(os.path.join(tmp, "n4"), srv.url)
        check(False, "a node without --nats-ca started")
    except RuntimeError as e:
        check("--sync" in str(e) and "unable to get local issuer certificate" in str(e),
              "a node without --nats-ca says TLS's reason: %s" % str(e)[-600:])


def nkeys_jwt():
    """The class of an nkey (NKey(prefix)) that signs JWTs, as nats-server
    takes them. An nkey is base32 (no padding) of its prefix byte, the
    ed25519 key and a CRC-16/XMODEM of those, little-endian; a seed's
    prefix is two bytes (the seed's and the key kind's). A JWT is base64url
    header.claims.signature, signed with the issuer's key."""
    import base64
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def crc16(b):
        crc = 0
        for x in b:
            crc ^= x << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xffff
        return crc

    def enc(raw):
        c = crc16(raw)
        return base64.b32encode(raw + bytes([c & 0xff, c >> 8])).decode().rstrip("=")

    def b64(b):
        return base64.urlsafe_b64encode(b).decode().rstrip("=")

    class NKey:
        def __init__(self, prefix):  # 14 << 3 operator, 0 account, 20 << 3 user
            seed = os.urandom(32)
            self.key = Ed25519PrivateKey.from_private_bytes(seed)
            pub = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)
            self.public = enc(bytes([prefix]) + pub)
            self.seed = enc(bytes([0x90 | (prefix >> 5), (prefix & 31) << 3]) + seed)

        def jwt(self, sub, name, nats):
            claims = {"jti": enc(os.urandom(32))[:52], "iat": int(time.time()), "iss": self.public,
                      "name": name, "sub": sub, "nats": dict(nats, version=2)}
            signed = (b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode()) + "." +
                      b64(json.dumps(claims).encode()))
            return signed + "." + b64(self.key.sign(signed.encode()))
    return NKey


def operator_mode(tmp):
    """A server config trusting a new operator with a system account and an
    account with JetStream; returns (config text, creds(name) -> path of a
    .creds file of a new user of that account, and of a stranger's)."""
    NKey = nkeys_jwt()
    op, sys_acc, acc, stranger = NKey(14 << 3), NKey(0), NKey(0), NKey(0)
    unlimited = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                 "wildcards": True, "conn": -1, "leaf": -1}
    js = dict(unlimited, mem_storage=-1, disk_storage=-1, streams=-1, consumer=-1)
    conf = ('operator: "%s"\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n'
            '  %s: "%s"\n  %s: "%s"\n}\n' % (
                op.jwt(op.public, "weft-test", {"type": "operator"}), sys_acc.public,
                sys_acc.public, op.jwt(sys_acc.public, "SYS", {"type": "account",
                                                                "limits": unlimited}),
                acc.public, op.jwt(acc.public, "weft", {"type": "account", "limits": js})))

    def creds(name, account=acc):
        user = NKey(20 << 3)
        path = os.path.join(tmp, name + ".creds")
        with open(path, "w") as f:
            f.write("-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
                    "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n" % (
                        account.jwt(user.public, name, {"type": "user", "pub": {}, "sub": {},
                                                        "subs": -1, "data": -1, "payload": -1}),
                        user.seed))
        return path
    return conf, creds, lambda name: creds(name, stranger)


def case_jwt(tmp):
    try:
        conf, creds, stranger = operator_mode(tmp)
    except ImportError:
        print("SKIP: python3-cryptography is not installed (it signs the JWTs)")
        sys.exit(77)
    srv = NatsServer(tmp, config=conf)
    ns = [NatsNode(os.path.join(tmp, "n%d" % i), srv.url, extra=["--nats-creds", creds("u%d" % i)])
          for i in (1, 2)]
    app = deploy(ns[0])
    create(ns[0], app, "c", ns[1:])
    wait_for("node 2 joins c", lambda: ns[1].json("GET", "/v1/contexts/c")[0] == 200)
    model = run_writes(ns, "c", 1)
    converged(ns, "c", model)
    check(any(s.startswith("WEFT_") for s in streams_of_accounts(srv)),
          "the context's stream is in the account's JetStream: %s" % streams_of_accounts(srv))
    try:
        NatsNode(os.path.join(tmp, "n3"), srv.url, extra=["--nats-creds", stranger("x")])
        check(False, "a node with the creds of an unknown account started")
    except RuntimeError as e:
        check("--sync" in str(e) and "Authorization Violation" in str(e),
              "a node with a stranger's creds says the server's reason: %s" % str(e)[-600:])


def streams_of_accounts(srv):
    return sorted(streams(srv))


def main():
    if not NATS:
        print("SKIP: nats-server is not installed (Debian package nats-server)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="weft-nats-")
    try:
        globals()["case_" + CASE](tmp)
    except Exception:
        import traceback
        traceback.print_exc()
        failures.append("exception")
    finally:
        if failures or os.environ.get("NATS_E2E_LOGS"):
            for name in sorted(os.listdir(tmp)):
                if name.endswith("-log"):
                    print("--- %s (tail)" % name)
                    print(open(os.path.join(tmp, name), errors="replace").read()[-int(os.environ.get("NATS_E2E_LOGS") or 3000):])
        kill_started()
        for s in servers:
            s.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d failed" % (CASE, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
