#!/usr/bin/env python3
"""test-nginx-errors: the errors nginx produces itself answer with the
contract's JSON error body and Content-Type: application/json.

nginx runs alone on the configuration nginx/fb-run.sh generates
(--config-only), in front of stand-ins for a broken backend: no socket at
all (502), a socket that closes every connection (502), and a socket that
accepts and never answers (504 after the shipped 5 s fastcgi_read_timeout).
Malformed requests (400), an over-long URI (414), an over-large header
(400), an unknown transfer coding (501) and an HTTP version nginx does
not speak (505) need no backend.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import shutil

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import (Client, check, check_error, note, parse_raw_response,  # noqa: E402
                    raw_request)

nginx = fbtest.require(backend=False)
workdir = tempfile.mkdtemp(prefix="fb-errors-")
port = fbtest.free_port()
out = subprocess.run(["bash", fbtest.FB_RUN, "--config-only", "--dir", workdir,
                      "--port", str(port)], capture_output=True, text=True)
if out.returncode != 0:
    print(out.stderr)
    fbtest.hard_error("fb-run.sh --config-only failed")
sock_path = os.path.join(workdir, "fastbank.sock")

log = open(os.path.join(workdir, "nginx.log"), "w")
# timeout(1): a safety net, should this script die without stopping nginx.
proc = subprocess.Popen(["timeout", "-k", "10", "600", nginx, "-p", workdir + "/", "-c",
                         os.path.join(workdir, "nginx.conf"), "-e", "stderr"],
                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def wait_listening():
    import time
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class StandIn:
    """A unix socket at the backend's path that either closes each
    connection at once or accepts and never answers."""

    def __init__(self, mode):
        self.mode = mode
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(sock_path)
        self.s.listen(64)
        self.held = []
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                conn, _ = self.s.accept()
            except OSError:
                return
            if self.mode == "close":
                conn.close()
            else:
                self.held.append(conn)

    def close(self):
        self.stop = True
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()
        for c in self.held:
            c.close()
        os.unlink(sock_path)


def requests_all(what, status, code):
    c = Client(port)
    for method, path, body in (("GET", "/healthz", None),
                               ("GET", "/accounts/1", None),
                               ("POST", "/accounts", {"owner": "Alice"}),
                               ("POST", "/accounts/transfer",
                                {"from": 1, "to": 2, "amount": 5}),
                               # nginx's 405, handed to the backend
                               ("TRACE", "/accounts/1", None)):
        r = c.request(method, path, body=body)
        check_error(r, status, code, "%s: %s %s" % (what, method, path))
    c.close()


def test_no_backend():
    requests_all("no backend socket", 502, "BACKEND_UNAVAILABLE")


def test_backend_closes():
    s = StandIn("close")
    try:
        requests_all("backend closes every connection", 502,
                     "BACKEND_UNAVAILABLE")
    finally:
        s.close()


def test_backend_silent():
    s = StandIn("silent")
    try:
        results = []

        def one(method, path, body):
            c = Client(port)
            results.append(c.request(method, path, body=body))
            c.close()

        threads = [threading.Thread(target=one, args=a) for a in
                   (("GET", "/healthz", None),
                    ("POST", "/accounts/1/deposit", {"amount": 5}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            check_error(r, 504, "BACKEND_TIMEOUT",
                        "backend never answers: %s %s" % (r.method, r.path))
    finally:
        s.close()


def raw(data, what, status, code):
    r = parse_raw_response(raw_request(port, data), "?", what)
    check_error(r, status, code, what)


def test_malformed():
    raw(b"GET /accounts/ 1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a space in the request line", 400, "VALIDATION_ERROR")
    raw(b"GET /accounts/1 HTTP/1.1\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 without Host", 400, "VALIDATION_ERROR")
    raw(b"GET /accounts/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10000
        + b"\r\nConnection: close\r\n\r\n",
        "a 10 kB header", 400, "VALIDATION_ERROR")
    raw(b"GET /accounts/" + b"1" * 10000 + b" HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n",
        "a 10 kB URI", 414, "URI_TOO_LONG")
    raw(b"POST /accounts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
        b"Connection: close\r\n\r\n",
        "Transfer-Encoding: gzip", 501, "NOT_IMPLEMENTED")
    raw(b"GET /healthz HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n",
        "HTTP/2.0 in plain text", 505, "HTTP_VERSION_NOT_SUPPORTED")
    # TRACE goes to the backend through a named location, which skips the
    # body limit: a TRACE with a body is refused before it is read.
    raw(b"TRACE /accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Connection: close\r\n\r\nhello",
        "TRACE with a body", 400, "VALIDATION_ERROR")
    raw(b"TRACE /accounts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
        b"\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "TRACE with a chunked body", 400, "VALIDATION_ERROR")
    raw(b"TRACE /accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000"
        b"\r\nConnection: close\r\n\r\n" + b"x" * 10000,
        "TRACE announcing 100 MB", 413, "PAYLOAD_TOO_LARGE")
    raw(b"POST /accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
        b"Connection: close\r\n\r\n" + b"x" * 5000,
        "a 5,000-byte body, refused by nginx alone", 413, "PAYLOAD_TOO_LARGE")
    c = Client(port)
    for path in ("/_fastbank/error/502", "/_fastbank/error/413"):
        r = c.get(path)
        check_error(r, 404, "NOT_FOUND", "GET %s (an internal page)" % path)
    c.close()


try:
    if not wait_listening():
        log.flush()
        with open(os.path.join(workdir, "nginx.log")) as f:
            print(f.read())
        fbtest.hard_error("nginx did not start")
    note("nginx pid %d on port %d, dir %s" % (proc.pid, port, workdir))
    fbtest.run(test_no_backend, test_backend_closes, test_backend_silent,
               test_malformed)
finally:
    proc.terminate()
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    log.close()
    if fbtest.failures():
        with open(os.path.join(workdir, "nginx.log")) as f:
            tail = f.read().splitlines()[-30:]
        for line in tail:
            print("      | %s" % line)
    shutil.rmtree(workdir, ignore_errors=True)
check(rc == 0, "nginx stopped with status 0 (status %r)" % rc)
fbtest.finish()
