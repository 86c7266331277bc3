#!/usr/bin/env python3
"""tests/sync/netns_test.py WEFT SYNC_APP_WASM CASE — replication between
nodes in network namespaces, through loss and partitions.

The test makes its own network, named after its pid so runs never meet,
and deletes it at the end whatever happened: a namespace holding a bridge,
one namespace per node (10.77.0.1-3) and one for the test's own client
(10.77.0.100), each joined to the bridge by a veth pair. Nodes listen for
HTTP and peer links on their namespace address, which needs a token (a
config file gives one). The test's threads talk to them from the client
namespace (setns), never through the machine's real network. Faults are
iptables rules inside a node's namespace (there is no tc netem here):

  loss        20% of the packets of node 2 dropped at random in both
              directions (iptables -m statistic --mode random), then node 3
              killed with SIGKILL and restarted, all during writes
  partitions  node 3 stops hearing node 1 (one-way), then is cut from both
              (two-way), then node 2 is stopped (SIGSTOP) and continued; all
              during writes on every node; healed by deleting the rules

After healing every node's digest is the same and matches the model of
acknowledged writes (cluster.py). Needs root, `ip netns` and iptables:
without them it prints why and exits 77, which CTest reports as skipped.
"""
import atexit
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import check, failures  # noqa: E402

WEFT, APP, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
SKIP = 77
TOKEN = "netns-test-token"
TAG = "w%d" % os.getpid()  # "w" + up to 7 digits + "a1": within 15 bytes
BR_NS, CL_NS = TAG + "br", TAG + "cl"
NODE_NS = [TAG + "n%d" % i for i in (1, 2, 3)]
ADDR = ["10.77.0.%d" % i for i in (1, 2, 3)]
CLIENT_ADDR = "10.77.0.100"
HTTP_PORT, PEER_PORT = 7373, 7374
made_ns = []
procs = []


def sh(*argv, ns=None, check_rc=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.strip()))
    return p


def skip_reason():
    if os.geteuid() != 0:
        return "not root: network namespaces and iptables need root"
    for tool in ("ip", "iptables"):
        if not shutil.which(tool):
            return "%s is not installed (scripts/install-deps.sh)" % tool
    probe = TAG + "probe"
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if p.returncode != 0:
        return "ip netns add failed: " + p.stderr.strip()
    try:
        q = subprocess.run(["ip", "netns", "exec", probe, "iptables", "-L", "-n"],
                           capture_output=True, text=True)
        if q.returncode != 0:
            return "iptables does not work in a namespace: " + q.stderr.strip()
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def remove_stale():
    """Deletes the namespaces of earlier runs whose process is gone (one
    killed with SIGKILL, as CTest does at a timeout, could not clean up)."""
    import re
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        m = re.match(r"^(w(\d+)(br|cl|n[123]))\b", line)
        if m and not os.path.exists("/proc/" + m.group(2)):
            subprocess.run(["ip", "netns", "del", m.group(1)], capture_output=True)


def teardown():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for ns in reversed(made_ns):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    made_ns.clear()


def make_network():
    for ns in [BR_NS, CL_NS] + NODE_NS:
        sh("ip", "netns", "add", ns)
        made_ns.append(ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
    sh("ip", "link", "add", "br0", "type", "bridge", ns=BR_NS)
    sh("ip", "link", "set", "br0", "up", ns=BR_NS)
    for i, (ns, addr) in enumerate(list(zip(NODE_NS, ADDR)) + [(CL_NS, CLIENT_ADDR)], 1):
        a, b = "%sa%d" % (TAG, i), "%sb%d" % (TAG, i)
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", a, "netns", ns)
        sh("ip", "link", "set", b, "netns", BR_NS)
        sh("ip", "link", "set", b, "master", "br0", ns=BR_NS)
        sh("ip", "link", "set", b, "up", ns=BR_NS)
        sh("ip", "addr", "add", addr + "/24", "dev", a, ns=ns)
        sh("ip", "link", "set", a, "up", ns=ns)


def enter_client_ns():
    """Moves this thread (and the threads it starts) into the client
    namespace: every socket the test opens from now on is there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + CL_NS, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class NsNode:
    def __init__(self, i, tmp):
        self.i, self.ns, self.addr = i, NODE_NS[i], ADDR[i]
        self.data = os.path.join(tmp, "n%d" % (i + 1))
        self.cfg = self.data + "-config.json"
        with open(self.cfg, "w") as f:
            json.dump({"tokens": [{"token": TOKEN, "scopes": ["admin", "call", "read"]}]}, f)
        self.start()

    def start(self):
        args = ["ip", "netns", "exec", self.ns, WEFT, "serve", "--data-dir", self.data,
                "--config", self.cfg, "--listen", "%s:%d" % (self.addr, HTTP_PORT),
                "--peer-listen", "%s:%d" % (self.addr, PEER_PORT)]
        if self.i > 0:
            args += ["--peer", "%s:%d" % (ADDR[0], PEER_PORT)]
        self.logf = open(self.data + "-log", "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf,
                                     preexec_fn=die_with_parent)
        procs.append(self.proc)
        end = time.time() + 30
        while True:
            try:
                if self.request("GET", "/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > end:
                raise RuntimeError("node %d did not start: %s" % (self.i + 1, self.log()[-2000:]))
            time.sleep(0.05)
        self.id = self.json("GET", "/v1/node")[1]["id"]

    def request(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection(self.addr, HTTP_PORT, timeout=timeout)
        try:
            c.request(method, path, body=body, headers={"Authorization": "Bearer " + TOKEN})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None):
        s, data = self.request(method, path, body)
        return s, (json.loads(data) if data else None)

    def call(self, fn, body):
        return self.request("POST", "/v1/contexts/c/call/" + fn, body)[0]

    def log(self):
        with open(self.data + "-log", errors="replace") as f:
            return f.read()

    def kill9_restart(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()
        self.start()

    def iptables(self, *rule):
        sh("iptables", *rule, ns=self.ns)

    def heal(self):
        sh("iptables", "-F", "INPUT", ns=self.ns)
        sh("iptables", "-F", "OUTPUT", ns=self.ns)


def setup(tmp):
    ns = [NsNode(i, tmp) for i in range(3)]
    with open(APP, "rb") as f:
        s, doc = ns[0].json("POST", "/v1/apps?name=sync_app", f.read())
    assert s == 201, doc
    s, doc = ns[0].json("POST", "/v1/contexts", json.dumps(
        {"app": doc["id"], "name": "c", "members": [ns[1].id, ns[2].id]}))
    assert s == 201, doc
    end = time.time() + 60
    for n in ns[1:]:
        while n.json("GET", "/v1/contexts/c")[0] != 200:
            assert time.time() < end, "node %d did not join: %s" % (n.i + 1, n.log()[-2000:])
            time.sleep(0.1)
    return ns


def with_writes(ns, script):
    model, stop = cluster.Model(), threading.Event()
    ws = [cluster.Writer("n%d" % (n.i + 1), n.call, model, stop, 0.01) for n in ns]
    for w in ws:
        w.start()
    try:
        script()
    finally:
        stop.set()
        for w in ws:
            w.join(90)
    return model


def finish(ns, model):
    for n in ns:
        n.heal()
    readers = [lambda c, n=n: cluster.digest(n, c, n.json) for n in ns]
    ok, d = cluster.converge(readers, "c")
    if check(ok, "after healing the nodes converge within %d s:\n" % cluster.CONVERGE_S +
             (cluster.explain(d) if not ok else "")):
        bad = model.check(d)
        check(not bad, "the converged state matches the model:\n  " + "\n  ".join(bad))
    check(model.acked_count() > 50, "writes were acknowledged (%d)" % model.acked_count())
    print("%d acknowledged writes, %d keys" % (model.acked_count(), len(d) if ok else -1))


def case_loss(tmp):
    ns = setup(tmp)

    def script():
        time.sleep(0.5)
        for chain in ("INPUT", "OUTPUT"):
            ns[1].iptables("-A", chain, "-m", "statistic", "--mode", "random",
                           "--probability", "0.2", "-j", "DROP")
        time.sleep(4)
        ns[2].kill9_restart()
        time.sleep(2)
        ns[1].heal()
        time.sleep(0.5)

    finish(ns, with_writes(ns, script))


def case_partitions(tmp):
    ns = setup(tmp)

    def script():
        time.sleep(0.5)
        # one-way: node 3 hears nothing from node 1 (it still sends)
        ns[2].iptables("-A", "INPUT", "-s", ADDR[0], "-j", "DROP")
        time.sleep(3)
        # two-way: node 3 cut from nodes 1 and 2; the client still reaches it
        for a in ADDR[:2]:
            ns[2].iptables("-A", "INPUT", "-s", a, "-j", "DROP")
            ns[2].iptables("-A", "OUTPUT", "-d", a, "-j", "DROP")
        time.sleep(6)  # past the 5 s dead-link timeout
        ns[2].heal()
        ns[1].proc.send_signal(signal.SIGSTOP)
        time.sleep(2)
        ns[1].proc.send_signal(signal.SIGCONT)
        time.sleep(1)

    model = with_writes(ns, script)
    finish(ns, model)
    check("dead: nothing received" in ns[0].log() + ns[2].log(),
          "the partition was seen: a link found dead")


def main():
    why = skip_reason()
    if why:
        print("netns_test: skipped: " + why, flush=True)
        sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="weft-netns-")
    atexit.register(teardown)
    # SIGTERM (a CTest timeout may send it) unwinds through the finally below.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    remove_stale()
    try:
        make_network()
        enter_client_ns()
        globals()["case_" + CASE](tmp)
    except Exception:
        import traceback
        traceback.print_exc()
        failures.append("exception")
    finally:
        if failures:
            for name in sorted(os.listdir(tmp)):
                if name.endswith("-log"):
                    print("--- %s (tail)" % name)
                    print(open(os.path.join(tmp, name), errors="replace").read()[-3000:])
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d failed" % (CASE, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
