#!/usr/bin/env python3
"""tests/console/assets_test.py WEFT CONSOLE_DIR — the web console's files
as a real `weft serve` serves them (docs/console.md), no browser needed.

For every file of src/server/console/ (index.html also at /): the bytes are
the file's, the Content-Type fits its extension, the ETag revalidates (304
with If-None-Match, 200 with another tag), Cache-Control is no-cache, and the
Content-Security-Policy is strict (default-src 'self', no 'unsafe-inline' or
'unsafe-eval', no other origin), with X-Content-Type-Options: nosniff. The
sources themselves: no HTML file holds an inline script, style element, style
attribute or on* handler, and no file refers to another origin; every file
index.html names exists. A file that is not there is a JSON 404.
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402
from nodes import Node, kill_started  # noqa: E402

WEFT, DIR = sys.argv[1], sys.argv[2]
nodes.WEFT = WEFT
failures = []

TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def check_sources(files):
    for name in files:
        text = open(os.path.join(DIR, name), encoding="utf-8").read()
        # Only the page's own origin: no scheme://host anywhere but XML namespaces.
        others = [u for u in re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", text)
                  if not u.startswith("http://www.w3.org/")]
        check(not others, "%s refers to another origin: %s" % (name, others[:3]))
        if not name.endswith(".html"):
            continue
        for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I):
            check("src=" in m.group(1) and not m.group(2).strip(),
                  "%s: an inline script: %.60s" % (name, m.group(0)))
        check(not re.search(r"<style\b", text, re.I), name + ": a <style> element")
        check(not re.search(r"\sstyle\s*=", text, re.I), name + ": a style attribute")
        check(not re.search(r"\son[a-z]+\s*=", text, re.I), name + ": an inline on* handler")
        check(not re.search(r"javascript:", text, re.I), name + ": a javascript: URL")
        for ref in re.findall(r"(?:src|href)=\"/console/([^\"]+)\"", text):
            check(ref in files, "%s names /console/%s, which is not a console file" % (name, ref))


def check_served(node, files):
    for name in files:
        body = open(os.path.join(DIR, name), "rb").read()
        paths = ["/console/" + name] + (["/"] if name == "index.html" else [])
        for path in paths:
            status, h, data = node.request("GET", path)
            if not check(status == 200, "%s: status %d" % (path, status)):
                continue
            check(data == body, path + ": the bytes are not the file's")
            ext = os.path.splitext(name)[1]
            check(h.get("Content-Type") == TYPES.get(ext, "application/octet-stream"),
                  "%s: Content-Type %r" % (path, h.get("Content-Type")))
            check(h.get("X-Content-Type-Options") == "nosniff", path + ": no nosniff")
            check(h.get("Cache-Control") == "no-cache", "%s: Cache-Control %r"
                  % (path, h.get("Cache-Control")))
            csp = h.get("Content-Security-Policy", "")
            directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
            check(directives.get("default-src") == ["'self'"], path + ": default-src is not 'self'")
            for d in ("script-src", "style-src", "connect-src", "img-src"):
                check(directives.get(d, ["'self'"]) == ["'self'"],
                      "%s: %s is %r" % (path, d, directives.get(d)))
            check("unsafe" not in csp, path + ": the CSP allows something unsafe")
            check(directives.get("frame-ancestors") == ["'none'"], path + ": framing allowed")
            etag = h.get("ETag", "")
            if check(re.fullmatch(r'"[0-9a-f]{32}"', etag) is not None,
                     "%s: ETag %r" % (path, etag)):
                status, h2, data = node.request("GET", path, headers={"If-None-Match": etag})
                check(status == 304 and data == b"", "%s: If-None-Match: %d, not 304" % (path, status))
                check(h2.get("ETag") == etag, path + ": a 304 without its ETag")
                status, _, _ = node.request("GET", path, headers={"If-None-Match": '"0000"'})
                check(status == 200, path + ": another tag must get 200")
    tags = set()
    for name in files:
        tags.add(node.request("GET", "/console/" + name)[1].get("ETag"))
    check(len(tags) == len(files), "two files share an ETag")
    status, h, data = node.request("GET", "/console/no-such-file.js")
    check(status == 404 and b"NOT_FOUND" in data, "a missing file: %d %r" % (status, data[:80]))
    status, h, _ = node.request("POST", "/")
    check(status == 405, "POST /: %d, not 405" % status)


def main():
    files = sorted(f for f in os.listdir(DIR) if not f.startswith("."))
    check("index.html" in files, "no index.html")
    check_sources(files)
    with tempfile.TemporaryDirectory() as tmp:
        # With tokens: the console's files need none (they hold no data).
        cfg = {"tokens": [{"token": "console-test-token-0123456789", "scopes": ["read"]}]}
        node = Node(os.path.join(tmp, "n"), config=cfg)
        try:
            check_served(node, files)
            status, _, _ = node.request("GET", "/v1/apps")
            check(status == 401, "the API itself still needs the token: %d" % status)
        finally:
            rc = node.stop()
            check(rc == 0, "weft serve exited with %s on SIGTERM (a sanitizer report?): %s"
                  % (rc, open(node.data + "-log", errors="replace").read()[-2000:]))
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("ok: %d files" % len(files))
    return 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        kill_started()
    sys.exit(rc)
