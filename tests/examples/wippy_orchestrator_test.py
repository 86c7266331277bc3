#!/usr/bin/env python3
"""tests/examples/wippy_orchestrator_test.py — examples/wippy_orchestrator
through a real `weft serve` and the `weft` client, as its README does: the
orchestrator component calls the textstats component and the journal nx
module through funcs; the journal's writes commit with the orchestrator's
calls; from a view the journal's write traps and the orchestrator returns
that err. Skips (77) without the components (jco missing).

usage: wippy_orchestrator_test.py WEFT EXAMPLES_DIR EXAMPLE_SRC_DIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402
from nodes import check  # noqa: E402


def main():
    weft, bin_dir, src = sys.argv[1], sys.argv[2], sys.argv[3]
    wasm = {n: os.path.join(bin_dir, "wippy_%s.wasm" % n)
            for n in ("orchestrator", "textstats", "journal")}
    if not all(os.path.exists(p) for p in wasm.values()):
        print("SKIP: the example's components were not built (jco missing: docs/components.md)")
        return 77
    with nodes.session(weft, "weft-wippy-orch-") as tmp:
        node = nodes.Node(os.path.join(tmp, "data"))
        env = dict(os.environ, WEFT_NODE=node.url)

        def weft_cmd(*args):
            p = subprocess.run([weft, *args], env=env, capture_output=True, timeout=60)
            return p.returncode, p.stdout.decode(), p.stderr.decode()

        ids = {}
        for name in ("journal", "textstats"):
            rc, out, err = weft_cmd("deploy", "--name", name, wasm[name])
            ids[name] = out.strip()
            check(rc == 0, "deploy %s (%s)" % (name, err.strip()))
        rc, out, err = weft_cmd("deploy", "--name", "orchestrator", "--manifest",
                                os.path.join(src, "manifest.json"), wasm["orchestrator"])
        ids["orchestrator"] = out.strip()
        check(rc == 0, "deploy the orchestrator with its manifest (%s)" % err.strip())
        for app, ctx in (("journal", "journal"), ("textstats", "text"), ("orchestrator", "orch")):
            rc, out, err = weft_cmd("context", "create", ids[app], ctx)
            check(rc == 0, "context %s (%s)" % (ctx, err.strip()))

        rc, out, err = weft_cmd("call", "orch", "run", "the quick brown fox")
        check(rc == 0 and out == "words=4 chars=19; journal #1",
              "the orchestrator joins both answers: %r %s" % (out, err.strip()))
        rc, out, err = weft_cmd("call", "orch", "run", "héllo wörld")
        check(rc == 0 and out == "words=2 chars=11; journal #2",
              "a second call, UTF-8 counted by code points: %r" % out)
        rc, out, err = weft_cmd("call", "journal", "list")
        check(rc == 0 and out == "1 the quick brown fox\n2 héllo wörld\n",
              "the journal's nested writes committed: %r" % out)
        rc, out, err = weft_cmd("call", "--view", "orch", "run", "read only")
        check(rc != 0 and out.startswith("journal:append: ") and "a view cannot write" in out,
              "from a view the journal's write traps, and run returns that err: %r" % out)
        rc, out, err = weft_cmd("call", "journal", "list")
        check(out.count("\n") == 2, "the view wrote nothing: %r" % out)
        rc, out, err = weft_cmd("call", "text", "stats", "a b c")
        check(rc == 0 and out == "words=3 chars=5", "textstats called directly: %r" % out)
        node.stop()
    return nodes.report()


if __name__ == "__main__":
    sys.exit(main())
