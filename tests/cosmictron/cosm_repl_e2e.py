#!/usr/bin/env python3
"""tests/cosmictron/cosm_repl_e2e.py WEFT REPL_APP_WASM CASE — replicated
Cosmictron tables across real `weft serve` nodes linked as peers (the
nodes of tests/sync/sync_e2e.py), with guests/repl_app.c: table user
{id primary key, name unique, age}, replicated (docs/cosmictron.md
"Replicated tables").

  two    2 nodes: a subscription on node 2 sees the rows written on node 1;
         both write the same key at once (the same row wins on both) and
         distinct keys (every row everywhere); node 2 offline while node 1
         takes the name "zed" under one key, then node 1 offline while node
         2 takes it under another: once linked, both show node 2's (the
         newer write) and not node 1's, and when node 1 deletes it, both
         show node 1's again
  three  3 nodes writing at once, distinct and shared keys, node 3 killed
         with SIGKILL during the writes and restarted: all three show the
         same rows, every acknowledged insert of a distinct key among them

Never a timing assertion: convergence is polled with a 60 s deadline.
"""
import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, os.path.join(HERE, "..", "sync"))
import nodes  # noqa: E402
from cosm_e2e import Sse  # noqa: E402

WEFT, APP, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
nodes.WEFT = WEFT
sys.argv = sys.argv[:1] + [WEFT, APP, CASE]  # sync_e2e reads its own argv
import sync_e2e  # noqa: E402
from sync_e2e import SyncNode, wait_joined  # noqa: E402
import cluster  # noqa: E402
from cluster import check, failures  # noqa: E402


def put(n, i, name, age):
    b = name.encode()
    return n.call("c", "put", struct.pack("<II", i, len(b)) + b + struct.pack("<i", age))


def delete(n, i):
    return n.call("c", "del", struct.pack("<I", i))


def rows(n):
    """The rows of user on node n, by id (None when the node does not answer)."""
    out, after = {}, None
    while True:
        q = "?limit=1000" + ("&after=" + urllib.parse.quote(after) if after else "")
        try:
            s, doc = n.json("GET", "/v1/contexts/c/tables/user" + q)
        except OSError:
            return None
        if s != 200:
            return None
        out.update((r["id"], r) for r in doc["items"])
        after = doc.get("next")
        if not after:
            return out


def converge(ns, want=lambda r: True, deadline_s=60):
    """Waits until every node shows the same rows and want(rows) holds."""
    end, last = time.time() + deadline_s, None
    while time.time() < end:
        last = [rows(n) for n in ns]
        if last[0] is not None and all(r == last[0] for r in last) and want(last[0]):
            return last[0]
        time.sleep(0.2)
    check(False, "the nodes converge within %d s: %s" %
          (deadline_s, [json.dumps(r, sort_keys=True)[:600] for r in (last or [])]))
    return None


def setup(tmp, n):
    ns = [SyncNode(os.path.join(tmp, "n1"))]
    for i in range(2, n + 1):
        ns.append(SyncNode(os.path.join(tmp, "n%d" % i), peers=[ns[0].peer_addr]))
    app = cluster.deploy(ns[0], APP)
    cluster.create(ns[0], app, "c", ns[1:])
    for x in ns[1:]:
        assert wait_joined(x, "c"), "node %s did not join:\n%s" % (x.url, x.log()[-2000:])
    return ns


def case_two(tmp):
    n1, n2 = ns = setup(tmp, 2)
    sub = Sse(n2.node, "/v1/contexts/c/tables/user/subscribe")
    check(sub.status == 200, "subscribe on node 2: %s" % sub.status)
    _, event, _ = sub.next()
    check(event == "ready", "an empty table, then ready: %s" % event)
    check(put(n1, 1, "ann", 30)[0] == 200, "put on node 1")
    _, event, data = sub.next()
    check(event == "table:user:insert" and json.loads(data["payload"]) ==
          {"id": 1, "name": "ann", "age": 30}, "node 2's subscriber sees node 1's row: %s %s" %
          (event, data))
    sub.close()

    # the same key from both at once; distinct keys from each
    def writer(n, tag, base):
        for k in range(25):
            put(n, 7, "k7-%s-%d" % (tag, k), k)
            put(n, base + k, "%s-%d" % (tag, k), k)
    ts = [threading.Thread(target=writer, args=(n1, "a", 100)),
          threading.Thread(target=writer, args=(n2, "b", 200))]
    [t.start() for t in ts]
    [t.join() for t in ts]
    got = converge(ns, lambda r: all(i in r for i in list(range(100, 125)) + list(range(200, 225))))
    check(got is not None and got[7]["name"].startswith("k7-"), "key 7 converged: %s" %
          (got or {}).get(7))

    # a unique clash made while the nodes cannot hear each other
    n2.kill(signal.SIGTERM)
    check(put(n1, 300, "zed", 1)[0] == 200, "zed as 300 on node 1")
    n1.kill(signal.SIGTERM)
    n2.restart()
    check(put(n2, 301, "zed", 2)[0] == 200, "zed as 301 on node 2, which never saw 300")
    n1.restart()
    got = converge(ns, lambda r: 301 in r and 300 not in r)
    check(got is not None and got[301]["name"] == "zed", "node 2's newer zed shown on both")
    check(put(n1, 302, "zed", 3)[0] != 200, "zed is taken on node 1 too")
    check(delete(n1, 301)[0] == 200, "node 1 deletes 301")
    got = converge(ns, lambda r: 300 in r and 301 not in r)
    check(got is not None and got[300] == {"id": 300, "name": "zed", "age": 1},
          "node 1's zed shows again on both")


def case_three(tmp):
    ns = setup(tmp, 3)
    stop, acked, mu = threading.Event(), {}, threading.Lock()

    def writer(i, n):
        k = 0
        while not stop.is_set():
            key = i * 100000 + k
            try:
                if put(n, key, "n%d-%d" % (i, k), k)[0] == 200:
                    with mu:
                        acked[key] = "n%d-%d" % (i, k)
                put(n, k % 5, "s%d-n%d-%d" % (k % 5, i, k), k)  # shared keys
            except OSError:
                time.sleep(0.1)  # the node is down: it comes back
            k += 1
    ts = [threading.Thread(target=writer, args=(i, n)) for i, n in enumerate(ns, 1)]
    [t.start() for t in ts]
    time.sleep(1.5)
    ns[2].kill()
    time.sleep(1)
    ns[2].restart()
    time.sleep(1.5)
    stop.set()
    [t.join() for t in ts]
    with mu:
        want = dict(acked)
    got = converge(ns, lambda r: all(k in r for k in want))
    if got is not None:
        bad = [k for k, name in want.items() if got[k]["name"] != name]
        check(not bad, "acknowledged rows as written: %s" % bad[:5])
        check(all(k in got for k in range(5)), "the shared keys")
    print("%d acknowledged distinct rows" % len(want))


def main():
    # sync_e2e's main runs case_CASE of its module (tmp dir, logs on failure, exit status)
    setattr(sync_e2e, "case_" + CASE, globals()["case_" + CASE])
    sync_e2e.main()


if __name__ == "__main__":
    main()
