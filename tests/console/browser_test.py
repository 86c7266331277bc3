#!/usr/bin/env python3
"""tests/console/browser_test.py WEFT APP_WASM OUT_DIR — the web console in
headless Chromium against a real `weft serve` (docs/console.md).

Drives Debian's chromium through chromium-driver's WebDriver HTTP API
(standard library only) on free loopback ports, against a node that needs a
token: the console asks for it, deploys a bad module (dropped on the drop
zone: its error is shown) and APP_WASM (tests/node's app, through the file
input), inspects its exports, creates a context, calls `put` (output, log,
event shown) and a trapping function (the error shown), watches events
arrive live, pauses and filters them, and browses kv and CRDT state. Each
page's screenshot goes to OUT_DIR/*.png, a phone-sized one too. The page
must log no error, and no Content-Security-Policy violation. Exits 77 (a
skip) where chromium or chromedriver is missing; the node and the driver
are stopped whatever fails.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402
from nodes import Node, kill_started, die_with_parent  # noqa: E402

WEFT, APP, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
nodes.WEFT = WEFT
TOKEN = "console-browser-test-token-0123456789"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


free_port = nodes.free_port


class Browser:
    """One WebDriver session of a chromedriver this test started."""

    def __init__(self, driver, profile):
        self.port = free_port()
        self.log = open(os.path.join(os.path.dirname(profile), "chromedriver.log"), "ab")
        self.proc = subprocess.Popen([driver, "--port=%d" % self.port], stdout=self.log,
                                     stderr=self.log, preexec_fn=die_with_parent)
        nodes.STARTED.append(self.proc)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.time() + 20
        while True:
            try:
                if self.http("GET", "/status")["value"].get("ready"):
                    break
            except (OSError, ValueError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.05)
        opts = {"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--window-size=1280,1000",
                         "--user-data-dir=" + profile]}
        binary = "/usr/lib/chromium/chromium"  # Debian's real binary (/usr/bin's is a wrapper)
        if os.path.exists(binary):
            opts["binary"] = binary
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                 "goog:chromeOptions": opts,
                                                 "goog:loggingPrefs": {"browser": "ALL"}}}}
        self.sid = self.http("POST", "/session", caps)["value"]["sessionId"]

    def http(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("webdriver %s %s: %s" % (method, path, e.read()[:500]))

    def cmd(self, method, path, body=None):
        return self.http(method, "/session/%s%s" % (self.sid, path), body)["value"]

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        ref = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(ref.values()))  # {"element-6066-...": id}, the W3C reference

    def click(self, css):
        self.cmd("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        self.cmd("POST", "/element/%s/value" % self.find(css), {"text": text})

    def wait(self, script, what, *args, timeout=15):
        """Polls script (a JS function body returning a value) until truthy."""
        deadline = time.time() + timeout
        while True:
            v = self.js(script, *args)
            if v:
                return v
            if time.time() > deadline:
                check(False, "timed out waiting for " + what)
                return None
            time.sleep(0.05)

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                       css)

    def shot(self, name):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(png)

    def logs(self):
        try:
            return self.http("POST", "/session/%s/se/log" % self.sid, {"type": "browser"})["value"]
        except RuntimeError:
            return None

    def quit(self):
        try:
            self.http("DELETE", "/session/" + self.sid)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


VISIBLE = "const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]');"


def scenario(b, node):
    # The node needs a token: the console asks for it.
    b.go(node.url + "/")
    b.wait("return document.getElementById('auth').open;", "the token dialog")
    b.shot("0-token")
    b.type("#auth-token", TOKEN)
    b.click("#auth-form button[type=submit]")
    ident = b.wait("const t = document.getElementById('node-id').textContent;"
                   "return /^[0-9a-f]{64}$/.test(t) && t;", "the node's id")
    status, info = node.json("GET", "/v1/node", headers={"Authorization": "Bearer " + TOKEN})
    check(ident == info["id"], "the id shown is the node's")
    check(b.js("return sessionStorage.getItem('weft.token');") == TOKEN, "token in sessionStorage")
    check(b.js("return localStorage.length;") == 0, "nothing in localStorage")
    check(b.js("return document.cookie;") == "", "no cookie")
    b.wait("return document.querySelectorAll('.chart polyline[points]').length >= 5;", "the charts")
    b.shot("1-node")

    # A bad module dropped on the drop zone: its error is shown.
    b.go(node.url + "/#/apps")
    b.wait(VISIBLE, "the apps view", "#drop")
    b.js("const dt = new DataTransfer();"
         "dt.items.add(new File([new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9])], 'bad.wasm'));"
         "document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt,"
         " bubbles: true, cancelable: true}));")
    err = b.wait("const e = document.getElementById('deploy-error');"
                 "return !e.hidden && e.textContent;", "the bad module's error")
    check(err and err.startswith("BAD_MODULE"), "a bad module shows BAD_MODULE: %r" % err)
    b.shot("2-apps-bad-module")

    # The real app through the file input: deployed, then inspected.
    b.type("#deploy-file", os.path.abspath(APP))
    app = b.wait("const m = /^#\\/apps\\/([0-9a-f]{64})$/.exec(location.hash); return m && m[1];",
                 "the deployed app's page")
    b.wait("return document.getElementById('app-id').textContent === arguments[0];",
           "the app's details", app)
    exports = b.js("return [...document.querySelectorAll('#app-exports td:first-child')]"
                   ".map(e => e.textContent);")
    check("put" in exports and "bump" in exports, "the exports listed: %r" % exports)
    check(b.text("#app-abi") == "nx", "the ABI profile shown: %r" % b.text("#app-abi"))
    check("nx" in (b.text("#app-imports") or ""), "the imports listed")
    check(b.text("#deploy-status").startswith("Deployed"), "the deploy's status")
    b.shot("3-app")

    # A context, created from the form.
    b.go(node.url + "/#/contexts")
    b.wait("return [...document.querySelectorAll('#ctx-app option')].some(o => o.value === arguments[0]);",
           "the app in the context form", app)
    b.js("document.getElementById('ctx-app').value = arguments[0];", app)
    b.type("#ctx-name", "shop")
    b.click("#ctx-form button[type=submit]")
    b.wait("return location.hash === '#/contexts/shop' && !document.getElementById('call-panel').hidden;",
           "the context's call panel")
    b.wait("return [...document.querySelectorAll('#contexts td:first-child')].some(t => t.textContent === 'shop');",
           "the context listed")
    members = b.wait("return document.getElementById('call-members').textContent;", "the members line")
    check(members and members.startswith("Members"), "the context's members shown: %r" % members)

    # A write call with text input: output, logs, events, fuel shown.
    b.type("#call-fn", "put")
    b.type("#call-text", "color=blue")
    b.click("#call-go")
    ev = b.wait("const t = document.getElementById('call-events').textContent; return t.includes('put') && t;",
                "the call's event")
    check("color" in (ev or ""), "the event's payload shown: %r" % ev)
    check("stored color" in (b.text("#call-logs") or ""), "the call's log line shown")
    check((b.text("#call-fuel") or "").isdigit(), "the fuel shown")
    b.wait("return document.getElementById('ctx-logs').textContent.includes('stored color');",
           "the context's recorded log lines")
    b.shot("4-call")

    # A trap: the error, its backtrace and the rollback are shown.
    b.js("document.getElementById('call-fn').value = '';")
    b.type("#call-fn", "put_then_trap")
    b.click("#call-go")
    err = b.wait("const e = document.getElementById('call-error'); return !e.hidden && e.textContent;",
                 "the trap's error")
    check(err and err.startswith("TRAP") and "rolled back" in err, "the trap shown: %r" % err)
    check("about to trap" in (b.text("#call-logs") or ""), "a trapped call's log line shown")
    b.shot("5-call-trap")

    # JSON arguments in a view.
    b.js("document.getElementById('call-fn').value = ''; document.getElementById('call-text').value = '';"
         "document.querySelector('input[name=call-input][value=json]').click();"
         "document.querySelector('input[name=call-kind][value=view]').click();")
    b.type("#call-fn", "add")
    b.type("#call-text", "[40, 2]")
    b.click("#call-go")
    b.wait("return document.getElementById('call-output').textContent.includes('values: [42]');",
           "a view's values")

    # A file as a write call's input.
    infile = os.path.join(OUT, "input.txt")
    with open(infile, "w") as f:
        f.write("bytes from a file\n")
    b.js("document.getElementById('call-fn').value = '';"
         "document.querySelector('input[name=call-input][value=file]').click();"
         "document.querySelector('input[name=call-kind][value=write]').click();")
    b.type("#call-fn", "echo")
    b.type("#call-file", infile)
    b.click("#call-go")
    b.wait("return document.getElementById('call-output').textContent === 'bytes from a file\\n';",
           "a file's bytes echoed")
    b.js("document.querySelector('input[name=call-input][value=text]').click();")

    # Events: the backlog, then one arriving live; pause holds, filter hides.
    auth = {"Authorization": "Bearer " + TOKEN}
    b.go(node.url + "/#/events/shop")
    b.wait("return document.getElementById('ev-status').textContent.includes('live');", "the live stream")
    b.wait("return document.querySelectorAll('#events tbody tr').length === 1;", "the kept event")
    status, _, _ = node.request("POST", "/v1/contexts/shop/call/put", b"size=large", auth)
    check(status == 200, "a call from outside: %d" % status)
    b.wait("return document.querySelector('#events tbody tr td:nth-child(3)').textContent === 'size';",
           "the live event")
    b.click("#ev-pause")
    node.request("POST", "/v1/contexts/shop/call/put", b"flavour=mint", auth)
    b.wait("return document.getElementById('ev-status').textContent.includes('1 held');",
           "the event held while paused")
    check(b.js("return document.querySelectorAll('#events tbody tr').length;") == 2,
          "a paused stream shows nothing new")
    b.click("#ev-pause")
    b.wait("return document.querySelectorAll('#events tbody tr').length === 3;", "the held event shown")
    b.type("#ev-filter", "size")
    visible = b.js("return [...document.querySelectorAll('#events tbody tr')].filter(r => !r.hidden)"
                   ".map(r => r.children[2].textContent);")
    check(visible == ["size"], "the filter shows the matching event only: %r" % visible)
    b.shot("6-events")

    # State: kv pages with a prefix and a cursor, a CRDT counter rendered.
    node.request("POST", "/v1/contexts/shop/call/bump", b"", auth)
    node.request("POST", "/v1/contexts/shop/call/bump", b"", auth)
    b.go(node.url + "/#/state/shop")
    b.wait("return document.querySelectorAll('#kv tbody tr').length === 3;", "the kv page")
    keys = b.js("return [...document.querySelectorAll('#kv tbody td:first-child')].map(e => e.textContent);")
    check(keys == ["color", "flavour", "size"], "the keys in order: %r" % keys)
    b.js("document.getElementById('kv-limit').value = '2';")
    b.click("#kv-form button[type=submit]")
    b.wait("return document.querySelectorAll('#kv tbody tr').length === 2 &&"
           " !document.getElementById('kv-next').disabled;", "a page of two")
    b.click("#kv-next")
    b.wait("const r = document.querySelectorAll('#kv tbody td:first-child');"
           "return r.length === 1 && r[0].textContent === 'size';", "the next page, from the cursor")
    b.js("document.getElementById('kv-limit').value = '50';")
    b.type("#kv-prefix", "fl")
    b.click("#kv-form button[type=submit]")
    b.wait("const r = document.querySelectorAll('#kv tbody td');"
           "return r.length === 2 && r[0].textContent === 'flavour' && r[1].textContent === 'mint';",
           "the prefix's keys")
    b.click("#crdt tbody button")
    b.wait("return document.querySelector('#crdt-body .big') &&"
           " document.querySelector('#crdt-body .big').textContent === '2';", "the counter's value")
    check("gcounter" in (b.text("#crdt-h") or ""), "the CRDT type shown")
    b.shot("7-state")

    # Deleting asks for a second press: a context goes; an app a context
    # uses is refused, and the node's 409 is shown.
    node.request("POST", "/v1/contexts", json.dumps({"app": app, "name": "scratch"}).encode(),
                 dict(auth, **{"Content-Type": "application/json"}))
    b.go(node.url + "/#/contexts")
    b.wait("return !!document.querySelector('#contexts button[aria-label=\"Delete scratch\"]');",
           "the scratch context listed")
    b.click('#contexts button[aria-label="Delete scratch"]')
    b.click('#contexts button[aria-label="Confirm: delete scratch"]')
    b.wait("return ![...document.querySelectorAll('#contexts td:first-child')]"
           ".some(t => t.textContent === 'scratch');", "the deleted context gone from the list")
    check(node.request("GET", "/v1/contexts/scratch", None, auth)[0] == 404, "the context deleted")
    b.go(node.url + "/#/apps")
    b.wait("return !!document.querySelector('#apps button[aria-label=\"Delete node_app\"]');",
           "the app listed")
    b.click('#apps button[aria-label="Delete node_app"]')
    b.click('#apps button[aria-label="Confirm: delete node_app"]')
    banner = b.wait("const e = document.getElementById('banner'); return !e.hidden && e.textContent;",
                    "the refusal shown")
    check(banner and banner.startswith("CONFLICT"), "deleting an app in use: %r" % banner)

    # Every CRDT type drawn (render.js, on the node's JSON as weft/crdt_json.h
    # writes it), bytes that are not text shown escaped, markup kept as text.
    drawn = b.js("""
        const R = weftRender, out = {};
        const show = (doc) => R.crdtRender(doc).map(n => n.textContent).join(' | ');
        out.pn = show({type: 'pncounter', value: -3});
        out.lww = show({type: 'lww', value: 'on'});
        out.unset = show({type: 'lww', value: null});
        out.map = show({type: 'lww_map', value: [{field: 'theme', value: 'dark'},
                                               {field: {hex: '00ff'}, value: 'x'}]});
        out.set = show({type: 'orset', value: ['blue', 'red']});
        out.seq = show({type: 'rga', value: ['h', 'i']});
        out.odd = show({type: 'unknown', value: 1});
        out.b64 = R.text({key_base64: 'YQB4'}, 'key');
        out.html = R.el('td', {}, '<img src=x onerror=alert(1)>').innerHTML;
        return out;""")
    check(drawn["pn"].startswith("-3 |"), "a PN-counter: %r" % drawn["pn"])
    check(drawn["lww"].startswith("on |") and drawn["unset"].startswith("(unset)"),
          "a register: %r %r" % (drawn["lww"], drawn["unset"]))
    check("themedark" in drawn["map"] and "hex 00ff" in drawn["map"], "a map: %r" % drawn["map"])
    check(drawn["set"].startswith("bluered |"), "a set: %r" % drawn["set"])
    check("As text: hi" in drawn["seq"], "a sequence: %r" % drawn["seq"])
    check('"type": "unknown"' in drawn["odd"], "an unknown type as JSON: %r" % drawn["odd"])
    check(drawn["b64"] == "a\\x00x", "bytes that are not text: %r" % drawn["b64"])
    check(drawn["html"] == "&lt;img src=x onerror=alert(1)&gt;", "markup stays text: %r" % drawn["html"])

    # A Cosmictron app's public table, where tests/cosmictron built its guest.
    cosm = os.environ.get("WEFT_COSM_WASM")
    if cosm and os.path.exists(cosm):
        tables(b, node, cosm, auth)
    else:
        print("tables: not checked (no Cosmictron guest built)")

    # Back on the node's page: the charts have plotted the calls.
    b.go(node.url + "/#/node")
    b.wait("return [...document.querySelectorAll('.chart polyline')].slice(0, 1).some(l =>"
           " (l.getAttribute('points') || '').split(' ').some(p => parseFloat(p.split(',')[1]) < 90));",
           "the calls plotted")
    b.shot("8-node-after-calls")

    # A phone's width: the node page still renders (a screenshot to look at).
    b.cmd("POST", "/window/rect", {"width": 390, "height": 844})
    b.go(node.url + "/#/contexts/shop")
    b.wait(VISIBLE, "the phone-sized page", "#call-panel")
    wide = b.js("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
    check(wide, "the page fits a phone's width without scrolling sideways")
    b.shot("9-phone-contexts")
    # The dark scheme (prefers-color-scheme), through Chromium's DevTools
    # command; only a screenshot to look at.
    try:
        b.cmd("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]}})
        b.shot("10-phone-contexts-dark")
    except RuntimeError as e:
        print("no dark screenshot:", e)

    # Every view has been drawn: every control is labelled, every button
    # and link says what it does, every image has alt text (or is
    # decoration: alt="").
    unlabelled = b.js("""
        const out = [];
        for (const e of document.querySelectorAll('input, select, textarea'))
            if (e.type !== 'radio' && !e.labels.length && !e.getAttribute('aria-label')) out.push(e.id || e.outerHTML);
        for (const e of document.querySelectorAll('input[type=radio]'))
            if (!e.labels.length || !e.closest('fieldset')) out.push('radio ' + e.name + '=' + e.value);
        for (const e of document.querySelectorAll('button, a'))
            if (!(e.getAttribute('aria-label') || e.textContent.trim())) out.push(e.outerHTML);
        for (const e of document.querySelectorAll('img'))
            if (!e.hasAttribute('alt')) out.push(e.outerHTML);
        return out;""")
    check(unlabelled == [], "controls without a label or text: %r" % unlabelled)
    logs = b.logs()
    print("browser log: %s" % ("%d entries" % len(logs) if logs is not None else "not available"))
    for l in logs or []:
        print("  ", l.get("level"), l.get("message", "")[:200])
    if logs is not None:
        bad = [l["message"] for l in logs if l.get("level") == "SEVERE" or
               "Content Security Policy" in l.get("message", "")]
        # The deliberate failures answer 4xx; the browser logs those
        # requests, which is not a page error.
        bad = [m for m in bad if "the server responded with a status of 4" not in m]
        check(not bad, "the page logged errors: %r" % bad[:5])

    # The policy is in force: an inline script put in the page does not run.
    b.js("const s = document.createElement('script'); s.textContent = 'window.pwned = 1;';"
         "document.body.append(s);")
    check(b.js("return window.pwned === undefined;"), "the CSP blocks an inline script")


def tables(b, node, cosm, auth):
    with open(cosm, "rb") as f:
        status, _, data = node.request("POST", "/v1/apps?name=cosm", f.read(), auth)
    if not check(status == 201, "the Cosmictron guest deployed: %d %r" % (status, data[:200])):
        return
    app = json.loads(data)["id"]
    node.request("POST", "/v1/contexts", json.dumps({"app": app, "name": "people"}).encode(),
                 dict(auth, **{"Content-Type": "application/json"}))
    for i, name in enumerate(["ann", "bob", "cy"]):
        b_name = name.encode()
        args = struct.pack("<I", len(b_name)) + b_name + struct.pack("<i", 30 + i)  # BSATN
        status, _, _ = node.request("POST", "/v1/contexts/people/call/add", args, auth)
        check(status == 200, "add %s: %d" % (name, status))
    b.go(node.url + "/#/apps/" + app)
    schema = b.wait("const e = document.getElementById('app-schema');"
                    "return !e.closest('[hidden]') && e.textContent;", "the app's schema")
    check(schema and "table person (public)" in schema, "the schema shown: %r" % schema)
    b.go(node.url + "/#/state/people")
    b.wait("return document.getElementById('st-ctx').value === 'people';", "the people context")
    offered = b.wait("const o = [...document.querySelectorAll('#tbl-names option')].map(e => e.value);"
                     "return o.length && o;", "the public tables offered")
    check("person" in offered and "secret" not in offered, "the public tables offered: %r" % offered)
    b.js("document.getElementById('kv-limit').value = '2';")
    b.type("#tbl-name", "person")
    b.click("#tbl-form button[type=submit]")
    b.wait("return document.querySelectorAll('#tbl tbody tr').length === 2 &&"
           " !document.getElementById('tbl-next').disabled;", "a page of the table's rows")
    cols = b.js("return [...document.querySelectorAll('#tbl thead th')].map(e => e.textContent);")
    check("id u32 primary key" in (b.text("#tbl-schema") or ""), "the table's schema line shown")
    check(cols[:3] == ["id", "name", "age"], "the table's columns: %r" % cols)
    b.click("#tbl-next")
    b.wait("const r = document.querySelectorAll('#tbl tbody tr');"
           "return r.length === 1 && r[0].children[1].textContent === 'cy';", "the table's next rows")
    b.shot("7b-table")
    b.js("document.getElementById('tbl-name').value = 'secret';")
    b.click("#tbl-form button[type=submit]")
    b.wait("return document.getElementById('tbl-status').textContent.startsWith('No public table');",
           "a private table refused")
    b.js("document.getElementById('kv-limit').value = '50';")


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        print("SKIP: chromium and chromium-driver are not installed (scripts/install-deps.sh)")
        return 77
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):  # a run's screenshots only
        if old.endswith(".png"):
            os.unlink(os.path.join(OUT, old))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = {"tokens": [{"token": TOKEN, "scopes": ["admin", "call", "read"]}]}
        node = Node(os.path.join(tmp, "n"), config=cfg)
        browser = None
        try:
            browser = Browser(driver, os.path.join(tmp, "profile"))
            t0 = time.time()
            scenario(browser, node)
            print("scenario: %.1f s" % (time.time() - t0))
        finally:
            if browser:
                browser.quit()
            rc = node.stop()
            check(rc == 0, "weft serve exited with %s on SIGTERM (a sanitizer report?): %s"
                  % (rc, open(node.data + "-log", errors="replace").read()[-2000:]))
    if failures:
        print("%d check(s) failed; screenshots in %s" % (len(failures), OUT))
        return 1
    print("ok; screenshots in", OUT)
    return 0


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    finally:
        kill_started()
    sys.exit(rc)
