#!/usr/bin/env python3
"""tests/sync/sync_e2e.py WEFT SYNC_APP_WASM CASE — replication end to end.

Three real `weft serve` nodes on loopback (tests/server/nodes.py), linked
as peers (2 and 3 dial 1; gossip links 2 and 3), replicating the context
of guests/sync_app.c while every node writes (cluster.py: the writers, the
model of acknowledged writes, the digests). One CASE per CTest test:

  converge    writes on all three at once: every digest equal, and equal
              to the model (every acknowledged write present)
  peers       GET /v1/peers, weft peers (text and --json), /metrics and nx
              net_peers from a guest name the two linked nodes, with their
              ids and addresses
  kill9       node 2 killed with SIGKILL during the writes and restarted
              (same data directory and ports): nothing acknowledged lost;
              SYNC_KILL_ROUNDS=N kills N times, nodes in turn (make soak)
  sigstop     node 3 stopped (SIGSTOP) for 6 s during the writes, then
              continued: its links die and come back, and all converge
  late_join   node 3 made a member after 10,000 ops exist: it joins and
              catches up
  non_member  node 3, linked but not a member of context c, gets nothing
              (no context, no app, no state) and the members' logs say why;
              made a member of another context d it gets d and still not c,
              and node 2, a member of c, does not get d
  remove_member  node 3 removed from c's members: replication with it stops
              both ways, it keeps the state it had; added again, it converges

Never a timing assertion: convergence is polled with a 180 s deadline, and
a failure prints the digests' differences.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import nodes  # noqa: E402
from nodes import Node, kill_started  # noqa: E402
import cluster  # noqa: E402
from cluster import check, failures  # noqa: E402

WEFT, APP, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
nodes.WEFT = WEFT


class SyncNode(cluster.ServedNode):
    """A weft serve with peer links; restart() keeps its data and ports."""

    def __init__(self, data, peers=(), port=0, peer_port=0):
        self.data, self.peers = data, list(peers)
        self.start(port, peer_port)

    def start(self, port=0, peer_port=0):
        ppf = self.data + "-peerport"
        if os.path.exists(ppf):
            os.unlink(ppf)
        extra = ["--peer-listen", "127.0.0.1:%d" % peer_port, "--peer-port-file", ppf]
        for p in self.peers:
            extra += ["--peer", p]
        self.node = Node(self.data, port=port, extra=extra)
        deadline = time.time() + 30
        while not os.path.exists(ppf) or os.path.getsize(ppf) == 0:
            assert time.time() < deadline, "no peer port file"
            time.sleep(0.02)
        self.peer_port = int(open(ppf).read())
        self.peer_addr = "127.0.0.1:%d" % self.peer_port
        self.port = self.node.port
        self.url = self.node.url
        self.id = self.node.json("GET", "/v1/node")[1]["id"]

    def kill(self, sig=signal.SIGKILL):
        self.node.proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.node.proc.wait()

    def restart(self):
        self.node.log.close()
        self.start(self.port, self.peer_port)


def three(tmp):
    n1 = SyncNode(os.path.join(tmp, "n1"))
    n2 = SyncNode(os.path.join(tmp, "n2"), peers=[n1.peer_addr])
    n3 = SyncNode(os.path.join(tmp, "n3"), peers=[n1.peer_addr])
    return [n1, n2, n3]


def deploy(node):
    return cluster.deploy(node, APP)


create = cluster.create


def wait_joined(node, ctx, deadline_s=120):
    end = time.time() + deadline_s
    while time.time() < end:
        if node.json("GET", "/v1/contexts/" + ctx)[0] == 200:
            return True
        time.sleep(0.1)
    return False


def setup(tmp, ctx="c"):
    ns = three(tmp)
    app = deploy(ns[0])
    create(ns[0], app, ctx, ns[1:])
    for n in ns[1:]:
        assert wait_joined(n, ctx), "node %s did not join %s:\n%s" % (n.url, ctx, n.log()[-2000:])
    return ns, app


writers, converged, run_writes = cluster.writers, cluster.converged, cluster.run_writes


# ---- cases ---------------------------------------------------------------------


def case_converge(tmp):
    ns, _ = setup(tmp)
    model = run_writes(ns, "c", 3)
    check(model.acked_count() > 100, "writes were acknowledged (%d)" % model.acked_count())
    d = converged(ns, "c", model)
    if d is not None:
        with model.mu:
            exact = model.inc_acked == model.inc_tried
        check(exact, "with no fault every write was acknowledged")
    ids = sorted(n.id for n in ns)
    for n in ns:
        s, doc = n.json("GET", "/v1/contexts/c")
        check(sorted(doc.get("members", [])) == ids, "every node has the three members: %s" % doc)


def peer_lines(ns):
    return {n.id: n for n in ns}


def case_peers(tmp):
    ns, _ = setup(tmp)
    by_id = peer_lines(ns)
    env_for = lambda n: dict(os.environ, WEFT_NODE=n.url)
    for n in ns:
        others = {m.id for m in ns if m is not n}
        # links come up within a few seconds; then every source agrees
        end = time.time() + 30
        while time.time() < end:
            s, doc = n.json("GET", "/v1/peers")
            up = {p["id"] for p in doc.get("peers", []) if p["state"] == "up"}
            if up == others:
                break
            time.sleep(0.2)
        check(up == others, "%s: GET /v1/peers lists the two others up: %s" % (n.url, doc))
        check(doc.get("peer_port") == n.peer_port, "GET /v1/peers: the peer port")
        down = {p["id"] for p in doc["peers"] if p["state"] != "up"}
        check(not (down & up), "no linked node is also listed down (an address learned by "
              "gossip and not dialled, or a duplicate link's loser): %s" % doc)
        for p in doc["peers"]:
            if p["state"] == "up" and p["direction"] == "out":
                check(p["addr"] == by_id[p["id"]].peer_addr,
                      "a dialled link's address is the peer's listen address: %s" % p)
            if p["state"] == "up":
                check(p["addr"].startswith("127.0.0.1:") and p["rtt_us"] >= 0, "an up link: %s" % p)
        # weft peers, text and --json
        r = subprocess.run([WEFT, "peers"], env=env_for(n), capture_output=True, text=True,
                           timeout=60)
        up_lines = [l for l in r.stdout.splitlines() if " up " in l]
        check(r.returncode == 0 and sorted(l.split()[0] for l in up_lines) ==
              sorted(i[:16] for i in others), "weft peers: the two up: %r" % r.stdout)
        r = subprocess.run([WEFT, "peers", "--json"], env=env_for(n), capture_output=True,
                           text=True, timeout=60)
        j = json.loads(r.stdout) if r.returncode == 0 else {}
        check({p["id"] for p in j.get("peers", []) if p["state"] == "up"} == others,
              "weft peers --json: the two up")
        # /metrics
        s, h, body = n.node.request("GET", "/metrics")
        up_m = set()
        for line in body.decode().splitlines():
            if line.startswith("weft_peer_up{") and line.endswith(" 1"):
                up_m.add(line.split('peer="')[1].split('"')[0])
        check(up_m == others, "/metrics: weft_peer_up 1 for the two others: %s" % up_m)
        # nx net_peers from a guest, and net_node_id
        s, out = n.call("c", "peers")
        got = {}
        for line in json.loads(out)["output"].splitlines():
            addr, pid = line.split(" ")
            got[pid] = addr
        check(set(got) == others, "net_peers from the guest: the two linked ids: %s" % got)
        up_addr = {p["id"]: p["addr"] for p in doc["peers"] if p["state"] == "up"}
        check(got == up_addr, "net_peers gives each linked node's address as GET /v1/peers "
              "does: %s vs %s" % (got, up_addr))
        s, out = n.call("c", "id")
        check(json.loads(out)["output"].strip() == n.id, "net_node_id is the node's id")


def case_kill9(tmp):
    """SYNC_KILL_ROUNDS (default 1; `make soak` runs more) kill -9s, of node
    2, then 3, then 1, ... each restarted on its ports a second later."""
    ns, _ = setup(tmp)
    rounds = int(os.environ.get("SYNC_KILL_ROUNDS", "1"))

    def during():
        time.sleep(1.5)
        for r in range(rounds):
            victim = ns[(r + 1) % 3]
            victim.kill()
            time.sleep(1)
            victim.restart()
            time.sleep(1)
        time.sleep(0.5)

    model = run_writes(ns, "c", 0, during)
    check(model.acked_count() > 100, "writes were acknowledged")
    for n in ns:
        check(wait_joined(n, "c"), "%s kept its context across kill -9" % n.url)
    converged(ns, "c", model)
    print("%d kill -9 rounds, %d acknowledged writes" % (rounds, model.acked_count()))


def case_sigstop(tmp):
    ns, _ = setup(tmp)

    def during():
        time.sleep(1)
        ns[2].kill(signal.SIGSTOP)
        time.sleep(6)  # past the 5 s dead-link timeout
        ns[2].kill(signal.SIGCONT)
        time.sleep(1.5)

    model = run_writes(ns, "c", 0, during)
    converged(ns, "c", model)
    check("dead: nothing received" in ns[0].log() + ns[1].log(),
          "the stopped node's links were found dead")


def case_late_join(tmp):
    ns = three(tmp)
    app = deploy(ns[0])
    create(ns[0], app, "c", [ns[1]])
    check(wait_joined(ns[1], "c"), "node 2 joined")
    s, out = ns[0].call("c", "bulk", b"5000 old")
    check(s == 200, "10,000 ops in one call on node 1: %s" % out[:300])
    s, out = ns[1].call("c", "bulk", b"2000 old2")
    check(s == 200, "4,000 more on node 2")
    time.sleep(0.5)
    check(ns[2].json("GET", "/v1/contexts/c")[0] == 404, "node 3, not a member yet, has no c")
    model, stop = cluster.Model(), threading.Event()
    ws = writers(ns[:2], "c", model, stop)
    try:
        time.sleep(0.5)
        s, doc = ns[0].json("POST", "/v1/contexts/c/members", json.dumps({"add": [ns[2].id]}))
        check(s == 200, "members add: %s %s" % (s, doc))
        check(wait_joined(ns[2], "c"), "node 3 joined once a member")
        time.sleep(1)
    finally:
        stop.set()
        for w in ws:
            w.join(60)
    d = converged(ns, "c", model)
    if d is not None:
        check(d.get("old", {}).get("value") == 5000 and d.get("old2", {}).get("value") == 2000,
              "the 14,000 old ops reached every node")
        check(len(cluster.elements(d.get("old:set", {}).get("value"))) == 5000,
              "all 5,000 old elements")


def case_non_member(tmp):
    ns = three(tmp)
    app = deploy(ns[0])
    create(ns[0], app, "c", [ns[1]])  # c: nodes 1 and 2; node 3 linked, not a member
    check(wait_joined(ns[1], "c"), "node 2 joined c")
    mc = run_writes(ns[:2], "c", 1.5)
    converged(ns[:2], "c", mc)
    time.sleep(1)  # a few anti-entropy ticks after convergence
    names = lambda n: sorted(c["name"] for c in n.json("GET", "/v1/contexts")[1]["contexts"])
    check(names(ns[2]) == [], "node 3, not a member, has no context: %s" % names(ns[2]))
    check(ns[2].json("GET", "/v1/apps")[1]["apps"] == [], "nor the app")
    check(ns[2].json("GET", "/v1/contexts/c/crdt")[0] == 404, "nor any state of c")
    line = "context c is not replicated with %s: it is not a member" % ns[2].id[:16]
    check(line in ns[0].log() and line in ns[1].log(), "the members' logs say: " + line)

    create(ns[0], app, "d", [ns[2]])  # d: nodes 1 and 3
    check(wait_joined(ns[2], "d"), "node 3 joined d")
    md = run_writes([ns[0], ns[2]], "d", 1.5)
    converged([ns[0], ns[2]], "d", md)
    run_writes(ns[:2], "c", 1, model=mc)
    converged(ns[:2], "c", mc)
    time.sleep(1)
    check(names(ns[2]) == ["d"], "node 3, a member of d, has d and not c: %s" % names(ns[2]))
    check(names(ns[1]) == ["c"], "node 2, a member of c, has c and not d: %s" % names(ns[1]))
    check(ns[2].json("GET", "/v1/contexts/c/crdt")[0] == 404, "node 3: still no state of c")
    check(ns[1].json("GET", "/v1/contexts/d/crdt")[0] == 404, "node 2: no state of d")
    line = "context d is not replicated with %s: it is not a member" % ns[1].id[:16]
    check(line in ns[0].log(), "node 1's log says: " + line)


def case_remove_member(tmp):
    """docs/sync.md "Leaving": removing a member stops replication with it
    on every node that has seen the removal; the removed node keeps what
    it had."""
    ns, _ = setup(tmp)
    model = run_writes(ns, "c", 1)
    before = converged(ns, "c", model)
    s, doc = ns[0].json("POST", "/v1/contexts/c/members", json.dumps({"remove": [ns[2].id]}))
    check(s == 200 and ns[2].id not in doc.get("members", []), "members remove: %s" % doc)
    ids = sorted(n.id for n in ns[:2])
    end = time.time() + 60
    while time.time() < end:
        seen = [sorted(n.json("GET", "/v1/contexts/c")[1].get("members", [])) for n in ns]
        if all(m == ids for m in seen):
            break
        time.sleep(0.2)
    check(all(m == ids for m in seen), "every node, the removed one too, saw the removal: %s"
          % seen)
    check(ns[0].call("c", "inc", b"after")[0] == 200 and
          ns[2].call("c", "inc", b"from3")[0] == 200, "writes after the removal")
    ok, d = cluster.converge([lambda c, n=n: cluster.digest(n, c) for n in ns[:2]], "c")
    check(ok and "after" in d and "from3" not in d, "nodes 1 and 2 replicate; node 3's new "
          "write does not reach them")
    time.sleep(2)  # anti-entropy ticks that must carry nothing to node 3
    d3 = cluster.digest(ns[2], "c")
    check(d3 is not None and "after" not in d3 and "from3" in d3,
          "node 3 gets nothing new, and keeps its own write")
    check(before is not None and all(d3.get(k) == v for k, v in before.items()),
          "node 3 keeps the state it had")
    # Added again, it converges with the others both ways: the op that adds
    # it reaches it although its own set lacked itself (docs/sync.md).
    s, doc = ns[0].json("POST", "/v1/contexts/c/members", json.dumps({"add": [ns[2].id]}))
    check(s == 200 and ns[2].id in doc.get("members", []), "members add again: %s" % doc)
    ok, d = cluster.converge([lambda c, n=n: cluster.digest(n, c) for n in ns], "c")
    check(ok and "after" in d and "from3" in d, "added again, node 3 converges with the others")


def main():
    tmp = tempfile.mkdtemp(prefix="weft-sync-")
    try:
        globals()["case_" + CASE](tmp)
    except Exception:
        import traceback
        traceback.print_exc()
        failures.append("exception")
        for name in sorted(os.listdir(tmp)):
            if name.endswith("-log"):
                print("--- %s (tail)" % name)
                print(open(os.path.join(tmp, name), errors="replace").read()[-3000:])
    finally:
        kill_started()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d failed" % (CASE, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
