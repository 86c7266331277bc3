#!/usr/bin/env python3
"""tests/component/net_test.py — a component's wasi:http/outgoing-handler
and wasi:sockets through a real `weft serve` (docs/components.md, "WASI
HTTP and sockets"), with the `net` test component (guests/net.c) and
servers this script starts on free loopback ports: an HTTP upstream
(nodes.HttpUpstream: /ok/echo answers with the method, the x-test header
and the body; /ok/big with more than max_response_bytes; /ok/slow never
answers until the end), a TCP echo server, a port reporter (below), and a
port nothing listens on.

Checked: a GET and a POST with a body answered (status, body, the guest's
header); a port and a host the allowlist does not name are error-code
HTTP-request-denied with no request made; a closed allowed port is
connection-refused; a request body over max_request_bytes and a response
over max_response_bytes are the body-size error-codes; the guest's
first-byte timeout ends a request that never gets an answer
(HTTP-response-timeout; no timing assertion). TCP: an echo round trip to
an allowed port; a port outside the manifest's "sockets" allow is
access-denied before connecting; UDP round trips (connected and
addressed) with an echo server, denied to another port; an app without
"sockets" is denied at create; a bad rule fails the deploy. A WASI
function imported with parameters other than WASI's traps, naming it
(badwasi.wit). Name lookup: an address literal and "localhost" resolve;
without "sockets" it is denied.

The TCP server's side: `serve-once` binds 127.0.0.1:0 and listens, tells
the reporter its port over a connection, and the reporter connects to it,
sends 76,800 bytes and reads them back until the component closes;
`server-errors` walks the WIT's state machine (unbound, bound, listening)
and its error codes; a port in use is address-in-use; 0.0.0.0 is denied
to a 127.0.0.1:* rule, a named port to a 127.0.0.1:0 rule, binding to an
app with no "listen" rule; a socket used after its drop traps and the
app's next call works; bad listen rules fail the deploy. Skips (77)
without the test component (jco missing).

usage: net_test.py WEFT COMPONENTS_DIR
"""
import json
import os
import socket
import socketserver
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import nodes  # noqa: E402
from nodes import check  # noqa: E402

# wasi:http error-code cases (their index in the variant) and
# wasi:sockets error-code cases the guest reports by number
HTTP_DENIED, CONN_REFUSED, REQ_BODY_SIZE, RESP_BODY_SIZE, RESP_TIMEOUT = 15, 6, 17, 28, 33
NET_ACCESS_DENIED, NET_ADDRESS_IN_USE = 1, 12


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class EchoServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True


class UdpEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


# What the `serve-once` component sends and gets back through its listener.
SERVED = {}
SERVED_DONE = threading.Event()
PAYLOAD = bytes(range(256)) * 300  # 76,800 bytes: more than one read and write


class PortReport(socketserver.BaseRequestHandler):
    """The guest connects and says its listener's port ("PORT\n"): this
    connects to that port, sends PAYLOAD, ends its side and reads the echo
    until the guest closes the connection."""

    def handle(self):
        line = b""
        while not line.endswith(b"\n"):
            chunk = self.request.recv(16)
            if not chunk:
                return
            line += chunk
        port = int(line)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
            c.sendall(PAYLOAD)
            c.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
        SERVED["port"], SERVED["echo"] = port, got
        SERVED_DONE.set()


free_port = nodes.free_port


def deploy(node, data, name, manifest=None):
    q = "name=" + name
    if manifest is not None:
        q += "&manifest=" + urllib.parse.quote(json.dumps(manifest))
    return node.json("POST", "/v1/apps?" + q, data)


def call(node, ctx, fn, args):
    """args: a list (JSON parameters), or the text of a one-string function"""
    body = args.encode() if isinstance(args, str) else json.dumps(args).encode()
    status, hdrs, data = node.request("POST", "/v1/contexts/%s/call/%s" % (ctx, fn), body,
                                      {"Accept": "application/octet-stream"})
    return status, data


def with_custom_section(data, tag):
    """The same component with a custom section appended: other bytes (so
    another app, with its own manifest), the same behaviour."""
    name = b"weft-test"
    payload = bytes([len(name)]) + name + tag
    return data + b"\x00" + bytes([len(payload)]) + payload


def main():
    weft, cdir = sys.argv[1], sys.argv[2]
    path = os.path.join(cdir, "net.wasm")
    if not os.path.exists(path):
        print("SKIP: the test components were not built (jco missing: docs/components.md)")
        return 77
    with open(path, "rb") as f:
        net = f.read()
    up = nodes.HttpUpstream(big=10000)
    echo = EchoServer(("127.0.0.1", 0), Echo)
    uecho = socketserver.UDPServer(("127.0.0.1", 0), UdpEcho)
    report = EchoServer(("127.0.0.1", 0), PortReport)
    for s in (echo, uecho, report):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    hport, eport, closed = up.port, echo.server_address[1], free_port()
    rport = report.server_address[1]
    uport = uecho.server_address[1]
    auth = "127.0.0.1:%d" % hport
    try:
        with nodes.session(weft, "weft-net-") as tmp:
            cfg = {"outbound_http": {
                "allow": [{"app": "net", "urls": ["http://%s/ok/" % auth,
                                                  "http://127.0.0.1:%d/" % closed]},
                          {"app": "net-short", "urls": ["http://%s/ok/" % auth]}],
                "timeout_ms": 20000, "max_response_bytes": 4096, "max_request_bytes": 1024}}
            node = nodes.Node(os.path.join(tmp, "data"), config=cfg)
            status, doc = deploy(node, net, "net", {"sockets": {
                "allow": ["127.0.0.1:%d" % eport, "127.0.0.0/8:%d" % uport,
                          "127.0.0.1:%d" % rport],
                "listen": ["127.0.0.1:*"]}})
            check(status == 201, "the net component deploys with a sockets rule (%d %s)"
                  % (status, (doc or {}).get("error")))
            s, d = node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "n"}))
            check(s == 201, "its context (%d)" % s)

            # -- wasi:http --
            status, out = call(node, "n", "fetch", ["GET", auth, "/ok/echo?q=1", [], 0])
            check(status == 200 and out == b"200 GET /ok/echo?q=1 x-test=weft body=",
                  "a GET is answered, with the guest's header: %r" % out)
            status, out = call(node, "n", "fetch", ["POST", auth, "/ok/echo", list(b"payload"), 0])
            check(status == 200 and out == b"200 POST /ok/echo x-test=weft body=payload",
                  "a POST with a body: %r" % out)
            before = up.count
            status, out = call(node, "n", "fetch", ["GET", auth, "/other", [], 0])
            check(out == b"error-code %d" % HTTP_DENIED,
                  "a path outside the allowlist is HTTP-request-denied: %r" % out)
            status, out = call(node, "n", "fetch", ["GET", "127.0.0.1:%d" % eport, "/ok/echo", [],
                                                    0])
            check(out == b"error-code %d" % HTTP_DENIED,
                  "another port is HTTP-request-denied: %r" % out)
            status, out = call(node, "n", "fetch", ["GET", "localhost:%d" % hport, "/ok/echo", [],
                                                    0])
            check(out == b"error-code %d" % HTTP_DENIED,
                  "another host name is HTTP-request-denied: %r" % out)
            check(up.count == before, "no request made for the denied ones")
            status, out = call(node, "n", "fetch", ["GET", "127.0.0.1:%d" % closed, "/", [], 0])
            check(out == b"error-code %d" % CONN_REFUSED,
                  "an allowed port nothing listens on is connection-refused: %r" % out)
            status, out = call(node, "n", "fetch", ["POST", auth, "/ok/echo", [7] * 3000, 0])
            check(out == b"error-code %d" % REQ_BODY_SIZE,
                  "a body over max_request_bytes is HTTP-request-body-size: %r" % out)
            status, out = call(node, "n", "fetch", ["GET", auth, "/ok/big", [], 0])
            check(out == b"error-code %d" % RESP_BODY_SIZE,
                  "a response over max_response_bytes is HTTP-response-body-size: %r" % out)
            status, out = call(node, "n", "fetch", ["GET", auth, "/ok/slow", [], 300])
            check(out == b"error-code %d" % RESP_TIMEOUT,
                  "the guest's first-byte timeout ends a request never answered: %r" % out)

            # -- wasi:sockets --
            status, out = call(node, "n", "tcp-echo", [eport, "hello over tcp"])
            check(status == 200 and out == b"echo: hello over tcp",
                  "a TCP round trip to the allowed port: %r" % out)
            status, out = call(node, "n", "tcp-echo", [hport, "x"])
            check(out == b"start-connect error %d" % NET_ACCESS_DENIED,
                  "a port outside \"sockets\" is access-denied: %r" % out)
            status, out = call(node, "n", "udp-echo", [uport, "a datagram", True])
            check(status == 200 and out == b"udp: a datagram",
                  "a UDP round trip on a connected socket: %r" % out)
            status, out = call(node, "n", "udp-echo", [uport, "addressed", False])
            check(status == 200 and out == b"udp: addressed",
                  "a UDP round trip with an addressed datagram: %r" % out)
            status, out = call(node, "n", "udp-echo", [hport, "x", True])
            check(out == b"stream error %d" % NET_ACCESS_DENIED,
                  "UDP to a port outside \"sockets\" is access-denied: %r" % out)
            status, out = call(node, "n", "udp-echo", [hport, "x", False])
            check(out == b"send error %d" % NET_ACCESS_DENIED,
                  "an addressed datagram to it too: %r" % out)
            status, out = call(node, "n", "lookup", "127.0.0.1")
            check(out == b"127.0.0.1", "an address literal resolves to itself: %r" % out)
            status, out = call(node, "n", "lookup", "localhost")
            check(status == 200 and (b"127.0.0.1" in out or b"v6" in out),
                  "localhost resolves through weft serve's resolver: %r" % out)

            # -- the TCP server's side --
            status, out = call(node, "n", "serve-once", [rport])
            SERVED_DONE.wait(30)  # the reporter reads the end after the call may have answered
            check(status == 200 and out == b"port %d from 127.0.0.1 echoed %d bytes keep-alive 1"
                  % (SERVED.get("port", -1), len(PAYLOAD)),
                  "serve-once: binds 127.0.0.1:0, listens, says its port, accepts the test's "
                  "connection (keep-alive inherited from the listener): %r" % out)
            check(SERVED.get("echo") == PAYLOAD,
                  "and echoes every byte, then closes the connection (%d of %d bytes back)"
                  % (len(SERVED.get("echo") or b""), len(PAYLOAD)))
            status, out = call(node, "n", "server-errors", [])
            want = ("finish-bind=7 listen-unbound=9 finish-listen=7 accept-unbound=9 "
                    "local-unbound=9 is-listening=0 family=0 backlog-0=3 rcvbuf-0=3 idle-1ns=ok "
                    "idle=1000000000 bind-ipv6=3 bind-multicast=3 bind=ok bind-started=6 "
                    "local-bind-started=9 finish-bind=ok bind-bound=9 finish-bind-bound=7 "
                    "accept-bound=9 backlog-16=ok listen=ok is-listening-started=0 "
                    "finish-listen=ok is-listening=1 listen-listening=9 connect-listening=9 "
                    "shutdown-listening=9 accept-none-pending=8 ready-none-pending=0 backlog-huge=ok "
                    "bind-in-use=12")
            got = out.decode(errors="replace").split()
            check(status == 200 and got == want.split(),
                  "the state machine's answers as the WIT says (not-in-progress 7, "
                  "invalid-state 9, invalid-argument 3, concurrency-conflict 6, would-block 8, "
                  "address-in-use 12): %s" % " ".join(
                      "%s (want %s)" % (g, w) for g, w in zip(got, want.split()) if g != w))
            status, out = call(node, "n", "tcp-listen", [127, 0, 0, 1, eport])
            check(out == b"start-bind error %d" % NET_ADDRESS_IN_USE,
                  "a port a test server listens on is address-in-use: %r" % out)
            status, out = call(node, "n", "tcp-listen", [0, 0, 0, 0, 0])
            check(out == b"start-bind error %d" % NET_ACCESS_DENIED,
                  "0.0.0.0 (every interface) is access-denied to a 127.0.0.1:* rule: %r" % out)
            status, out = call(node, "n", "use-after-drop", [])
            msg = json.loads(out or b"{}").get("error", {}).get("message", "")
            check(status == 422 and "tcp-socket" in msg and "not a live handle" in msg,
                  "a socket used after its drop traps, saying so: %d %s" % (status, msg))
            status, out = call(node, "n", "tcp-listen", [127, 0, 0, 1, 0])
            check(status == 200 and out.startswith(b"listening ") and out != b"listening 0",
                  "and the app's next call listens: %r" % out)
            # listen rules: port 0 is only "a port the system picks"; none: denied
            status, doc = deploy(node, with_custom_section(net, b"port 0"), "net-port0",
                                 {"sockets": {"listen": ["127.0.0.1:0"]}})
            node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "p0"}))
            status, out = call(node, "p0", "tcp-listen", [127, 0, 0, 1, 0])
            check(status == 200 and out.startswith(b"listening ") and out != b"listening 0",
                  "a \"listen\" rule alone lets a component listen on 127.0.0.1:0: %r" % out)
            status, out = call(node, "p0", "tcp-listen", [127, 0, 0, 1, free_port()])
            check(out == b"start-bind error %d" % NET_ACCESS_DENIED,
                  "but not on a port it names: %r" % out)
            status, out = call(node, "p0", "tcp-echo", [eport, "x"])
            check(out == b"start-connect error %d" % NET_ACCESS_DENIED,
                  "nor connect anywhere: %r" % out)
            status, doc = deploy(node, with_custom_section(net, b"no listen"), "net-nolisten",
                                 {"sockets": {"allow": ["127.0.0.1:%d" % eport]}})
            node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "nl"}))
            status, out = call(node, "nl", "tcp-listen", [127, 0, 0, 1, 0])
            check(out == b"start-bind error %d" % NET_ACCESS_DENIED,
                  "binding without a \"listen\" rule is access-denied: %r" % out)

            # an app without "sockets": denied at create and lookup
            other = with_custom_section(net, b"no sockets")
            status, doc = deploy(node, other, "net-closed")
            check(status == 201, "the same component without \"sockets\" deploys (%d)" % status)
            node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "closed"}))
            status, out = call(node, "closed", "tcp-echo", [eport, "x"])
            check(out == b"create error %d" % NET_ACCESS_DENIED,
                  "sockets are off by default: create is access-denied: %r" % out)
            status, out = call(node, "closed", "lookup", "localhost")
            check(out == b"error %d" % NET_ACCESS_DENIED, "and lookup too: %r" % out)
            status, out = call(node, "closed", "tcp-listen", [127, 0, 0, 1, 0])
            check(out == b"create error %d" % NET_ACCESS_DENIED, "and listening: %r" % out)
            status, out = call(node, "closed", "fetch", ["GET", auth, "/ok/echo", [], 0])
            check(out == b"error-code %d" % HTTP_DENIED,
                  "another app's allowlist rule does not let it fetch: %r" % out)

            status, doc = deploy(node, with_custom_section(net, b"bad"), "net-bad",
                                 {"sockets": {"allow": ["127.0.0.1"]}})
            msg = (doc or {}).get("error", {}).get("message", "")
            check(status == 400 and "ADDRESS[/PREFIX]:PORT" in msg,
                  "a bad sockets rule fails the deploy, saying why: %d %s" % (status, msg))
            status, doc = deploy(node, with_custom_section(net, b"bad listen"), "net-bad2",
                                 {"sockets": {"listen": ["127.0.0.1:70000"]}})
            msg = (doc or {}).get("error", {}).get("message", "")
            check(status == 400 and "listen rule" in msg,
                  "so does a bad listen rule: %d %s" % (status, msg))
            status, doc = deploy(node, with_custom_section(net, b"empty"), "net-bad3",
                                 {"sockets": {}})
            msg = (doc or {}).get("error", {}).get("message", "")
            check(status == 400 and "neither" in msg,
                  "and \"sockets\" with no rule at all: %d %s" % (status, msg))
            # the call's deadline bounds a request more than timeout_ms (20 s here): a
            # call of 1 s fetching what never answers ends, as the timeout's error-code
            # or, its deadline passed, as a trapped call
            status, doc = deploy(node, with_custom_section(net, b"short"), "net-short",
                                 {"limits": {"timeout_ms": 1000}})
            node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "short"}))
            status, out = call(node, "short", "fetch", ["GET", auth, "/ok/slow", [], 0])
            check((status == 200 and out == b"error-code %d" % RESP_TIMEOUT) or
                  (status == 422 and b"TRAP" in out),
                  "a request past the call's deadline ends the call: %d %r" % (status, out))

            # a WASI function imported with other parameters is refused, not run
            with open(os.path.join(cdir, "badwasi.wasm"), "rb") as f:
                status, doc = deploy(node, f.read(), "badwasi")
            check(status == 201, "badwasi deploys (%d)" % status)
            node.json("POST", "/v1/contexts", json.dumps({"app": doc["id"], "name": "bad"}))
            status, out = call(node, "bad", "run", [])
            msg = json.loads(out or b"{}").get("error", {}).get("message", "")
            check(status == 422 and "[method]output-stream.write" in msg and
                  "imported with parameters" in msg,
                  "a WASI function imported with other parameters traps: %d %s"
                  % (status, msg))
            check(node.stop() == 0, "the node stops cleanly")
    finally:
        up.close()
        for s in (echo, uecho, report):
            s.shutdown()
            s.server_close()
    return nodes.report()


if __name__ == "__main__":
    sys.exit(main())
