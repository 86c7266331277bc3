#!/usr/bin/env python3
"""tests/cosmictron/cosm_upgrade_e2e.py — a Cosmictron context moved to a
new version of its app through a real `weft serve` (docs/node.md
"Upgrading a context"): guests/schema_v.c built as versions 1, 2 and 3.
Version 3 removes a column: `POST /v1/contexts/c1/app` refuses it (409,
naming the table and column) and nothing changes. Version 2 adds a
nullable column and a table: `weft context upgrade` moves the context, the
old rows read with the new column as null, new calls write it, the new
table is there, and it all holds after a restart. Moving back to version
1 would drop the column: refused too. The same app again is a no-op.

usage: cosm_upgrade_e2e.py WEFT V1.wasm V2.wasm V3.wasm
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def add(node, i, name):
    b = name.encode()
    status, doc = node.json("POST", "/v1/contexts/c1/call/add",
                            struct.pack("<I", i) + struct.pack("<I", len(b)) + b)
    check(status == 200, "add %d: %s %s" % (i, status, doc))


def rows(node, table="item"):
    status, doc = node.json("GET", "/v1/contexts/c1/tables/%s" % table)
    check(status == 200, "rows of %s: %s %s" % (table, status, doc))
    return doc["items"]


def deploy(node, path, name):
    with open(path, "rb") as f:
        status, doc = node.json("POST", "/v1/apps?name=%s" % name, f.read())
    check(status in (200, 201), "deploy %s: %s %s" % (name, status, doc))
    return doc["id"]


def upgrade(node, app):
    return node.json("POST", "/v1/contexts/c1/app", json.dumps({"app": app}).encode(),
                     {"Content-Type": "application/json"})


def main():
    nodes.WEFT, v1, v2, v3 = sys.argv[1:5]
    with tempfile.TemporaryDirectory(prefix="weft-cosm-up-") as tmp:
        data = os.path.join(tmp, "node")
        node = nodes.Node(data)
        try:
            a1, a2, a3 = deploy(node, v1, "v1"), deploy(node, v2, "v2"), deploy(node, v3, "v3")
            status, doc = node.json("POST", "/v1/contexts",
                                    json.dumps({"name": "c1", "app": a1}).encode(),
                                    {"Content-Type": "application/json"})
            check(status == 201, "context: %s %s" % (status, doc))
            add(node, 1, "ann")
            add(node, 2, "bob")
            before = rows(node)
            check(before == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}], before)

            status, doc = upgrade(node, a3)  # a column removed
            check(status == 409 and "table item: column name removed" in
                  doc["error"]["message"], "v3: %s %s" % (status, doc))
            status, doc = node.json("GET", "/v1/contexts/c1")
            check(doc["app"] == a1, "still v1: %s" % doc)
            check(rows(node) == before, "rows after a refusal")
            status, doc = upgrade(node, "0" * 64)
            check(status == 404, "unknown app: %s %s" % (status, doc))

            # the CLI moves it to v2
            r = subprocess.run([nodes.WEFT, "context", "upgrade", "--node", node.url, "c1", a2],
                               capture_output=True, text=True)
            check(r.returncode == 0, "weft context upgrade: %s %s" % (r.returncode, r.stderr))
            status, doc = node.json("GET", "/v1/contexts/c1")
            check(doc["app"] == a2, "now v2: %s" % doc)
            check(rows(node) == [{"id": 1, "name": "ann", "note": None},
                                 {"id": 2, "name": "bob", "note": None}], rows(node))
            add(node, 3, "cy")
            check(rows(node)[2] == {"id": 3, "name": "cy", "note": "cy"}, rows(node))
            check(rows(node, "tag") == [], "the new table")
            status, doc = upgrade(node, a2)  # the same app: nothing to do
            check(status == 200 and doc["app"] == a2, "same app: %s %s" % (status, doc))
            r = subprocess.run([nodes.WEFT, "context", "upgrade", "--node", node.url, "c1", a1],
                               capture_output=True, text=True)
            check(r.returncode != 0 and "table item: column note removed" in r.stderr,
                  "back to v1: %s %s" % (r.returncode, r.stderr))

            node.stop()
            node = nodes.Node(data)
            check(len(rows(node)) == 3 and rows(node)[0]["note"] is None, "after a restart")
            add(node, 4, "dee")
            check(rows(node)[3] == {"id": 4, "name": "dee", "note": "dee"}, rows(node))
        finally:
            node.stop()
            nodes.kill_started()
    print("ok")


if __name__ == "__main__":
    main()
