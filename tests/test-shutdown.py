#!/usr/bin/env python3
"""test-shutdown: stopping the backend and the stack.

1. SIGTERM to the backend with requests in flight and idle kept
   connections: an idle kept FastCGI connection is closed; a request the
   backend has begun reading (sent straight to its socket as FastCGI, its
   body completed once that idle connection is closed) gets a complete
   reply; requests sent
   through nginx before the signal get complete replies; the backend exits
   with status 0 within 10 s (a hang bound, not a timing test); fb-run.sh
   then stops nginx and exits non-zero, leaving no process behind.
2. SIGINT to fb-run.sh (Ctrl-C) under load: nginx finishes the requests in
   flight, everything stops, fb-run.sh exits 0, no process is left, the pid
   files and the socket are removed.
3. --lifetime: fb-run.sh stops everything by itself and exits 0.
4. nginx killed (SIGKILL): fb-run.sh stops the backend, kills nginx's
   orphaned workers and exits non-zero, leaving no process behind.
"""

import http.client
import os
import re
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import Ledger, Stack, check, note, pid_alive, wait_gone  # noqa: E402
from fbfcgi import head as fcgi_head, reply as fcgi_reply  # noqa: E402
from fbfcgi import stdin as fcgi_stdin  # noqa: E402

# Seconds the backend may take to exit after SIGTERM: a hang bound.
HANG_BOUND = 30 if fbtest.SANITIZER else 10

# ------------------------------------------------------------ load

class Load:
    """Threads sending deposits of 1 through nginx until stopped.  Each
    request is recorded with the time it was sent and its outcome."""

    def __init__(self, stack, account, n=8):
        self.stack = stack
        self.account = account
        self.stop = threading.Event()
        self.records = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(n)]

    def run(self):
        c = self.stack.client(timeout=60)
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                r = c.post("/accounts/%d/deposit" % self.account, {"amount": 1})
                outcome = r
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                outcome = e
                c.close()
                if self.stop.is_set():
                    break
                time.sleep(0.01)
            with self.lock:
                self.records.append((t, outcome))
        c.close()

    def start(self):
        for t in self.threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(self.records) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)


def judge(records, t_signal, allowed, what):
    """Requests sent before t_signal - 50 ms must have a complete reply with
    a status in allowed (JSON for errors).  Later ones may also end in a
    connection error (the server closing an idle keep-alive connection as it
    stops), but a reply that arrives must be complete."""
    early_bad = []
    late_bad = []
    counts = {}
    for t, o in records:
        if isinstance(o, Exception):
            key = type(o).__name__
        else:
            key = o.status
            if o.status != 200 and (o.media_type != "application/json"
                                    or o.json is None):
                key = "%d non-JSON" % o.status
        counts[key] = counts.get(key, 0) + 1
        good = not isinstance(o, Exception) and key in allowed
        if t < t_signal - 0.05:
            if not good:
                early_bad.append(o)
        elif not good and not isinstance(o, (ConnectionError,
                                             http.client.RemoteDisconnected,
                                             ConnectionRefusedError)):
            late_bad.append(o)
    note("%s: outcomes %r" % (what, counts))
    check(not early_bad, "%s: every request sent before the signal got a "
          "complete reply (%s)" % (what, ", ".join(map(str, allowed))),
          early_bad[0] if early_bad else None)
    check(not late_bad, "%s: every reply that came back is complete" % what,
          late_bad[0] if late_bad else None)
    return counts


def check_nothing_left(stack, pids, what):
    gone = wait_gone(pids, 5)
    left = [p for p in pids if pid_alive(p)]
    check(gone, "%s: no process left (nginx master, workers %s, backend)"
          % (what, stack.workers), "still running: %r" % left)
    for name in ("nginx.pid", "fastbank.pid", "fastbank.sock"):
        check(not os.path.exists(os.path.join(stack.dir, name)),
              "%s: %s removed" % (what, name))


# ------------------------------------------------------------ tests

def test_backend_sigterm():
    s = Stack(name="shutdown-backend").start()
    c = s.client()
    L = Ledger(c)
    a = L.create("Shutdown")
    L.deposit(a, 1000)
    check(s.read_pidfile("nginx.pid") == s.nginx_pid
          and s.read_pidfile("fastbank.pid") == s.backend_pid,
          "nginx.pid and fastbank.pid hold the pids fb-run.sh printed")
    pids = s.all_pids()
    sock_path = os.path.join(s.dir, "fastbank.sock")

    # An idle kept FastCGI connection.
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.settimeout(fbtest.REQUEST_TIMEOUT)
    idle.connect(sock_path)
    idle.sendall(fcgi_head("GET", "/healthz", 0) + fcgi_stdin(b"", True))
    status, body = fcgi_reply(idle)
    check(status == 200, "FastCGI GET /healthz straight to the backend: 200",
          body)

    # A request in flight: headers and half the body sent.
    body = b'{"amount": 5}'
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    busy.settimeout(fbtest.REQUEST_TIMEOUT)
    busy.connect(sock_path)
    busy.sendall(fcgi_head("POST", "/accounts/%d/deposit" % a, len(body))
                 + fcgi_stdin(body[:6], False))
    time.sleep(0.3)

    load = Load(s, a)
    load.start()
    t_signal = time.monotonic()
    os.kill(s.backend_pid, signal.SIGTERM)
    load.stop.set()

    # The idle connection's EOF says the backend has begun to stop: only
    # then is the busy request's body completed, so that it is in flight
    # while the backend stops, whatever time the backend took to act on
    # the signal.
    try:
        closed = idle.recv(1) == b""
        detail = "the connection stayed readable"
    except ConnectionResetError:
        closed, detail = True, ""
    except socket.timeout:
        closed, detail = False, "no EOF within %d s" % fbtest.REQUEST_TIMEOUT
    check(closed, "an idle kept FastCGI connection is closed at SIGTERM",
          detail)

    try:
        busy.sendall(fcgi_stdin(body[6:], True))
        status, reply = fcgi_reply(busy)
        ok = status == 200 and b'"balance"' in reply
        detail = "%d %r" % (status, reply)
    except Exception as e:
        ok, detail = False, repr(e)
    check(ok, "a request in flight at SIGTERM (body completed after the "
          "backend closed its idle connections) gets a complete 200 reply",
          detail)
    idle.close()
    busy.close()

    exited = wait_gone([s.backend_pid], HANG_BOUND)
    check(exited, "the backend exits within %d s of SIGTERM" % HANG_BOUND)
    load.finish()
    judge(load.records, t_signal, (200, 502), "backend SIGTERM under load")

    try:
        rc = s.proc.wait(timeout=30)
    except Exception:
        rc = None
    log = s.log()
    m = re.search(r"backend \(pid %d\) exited with status (\d+)" % s.backend_pid,
                  log)
    check(m is not None and m.group(1) == "0",
          "the backend's exit status is 0 (fb-run.sh: %s)"
          % (m.group(0) if m else "no report"), log)
    check(rc not in (None, 0), "fb-run.sh exits non-zero when the backend "
          "stops on its own (status %r)" % rc)
    check("nginx (pid %d) exited with status 0" % s.nginx_pid in log,
          "fb-run.sh then stopped nginx (status 0)", log)
    check_nothing_left(s, pids, "backend SIGTERM")
    s.stop()


def test_run_sigint():
    s = Stack(name="shutdown-sigint").start()
    c = s.client()
    L = Ledger(c)
    a = L.create("Ctrl C")
    c.close()
    pids = s.all_pids()
    load = Load(s, a)
    load.start()
    t_signal = time.monotonic()
    s.proc.send_signal(signal.SIGINT)
    try:
        rc = s.proc.wait(timeout=60)
    except Exception:
        rc = None
    load.finish()
    counts = judge(load.records, t_signal, (200,), "fb-run.sh SIGINT under load")
    check(counts.get(200, 0) > 0, "the load got replies before the signal")
    check(rc == 0, "fb-run.sh exits 0 on SIGINT (status %r)" % rc, s.log())
    log = s.log()
    check(re.search(r"backend \(pid %d\) exited with status 0" % s.backend_pid,
                    log) is not None, "the backend exited with status 0", log)
    check(log.index("nginx (pid") < log.index("backend (pid")
          if "nginx (pid" in log and "backend (pid" in log else False,
          "nginx was stopped before the backend", log)
    check_nothing_left(s, pids, "fb-run.sh SIGINT")
    s.stop()


def test_lifetime():
    s = Stack(name="shutdown-lifetime", lifetime=4).start()
    pids = s.all_pids()
    try:
        rc = s.proc.wait(timeout=60)
    except Exception:
        rc = None
    check(rc == 0, "fb-run.sh --lifetime 4 stops by itself with status 0 "
          "(status %r)" % rc, s.log())
    check("end of its lifetime" in s.log(), "it says why it stopped", s.log())
    # The tests name the binary in NGINX, which nginx itself reads as
    # inherited sockets: fb-run.sh must not pass it on.
    check("[emerg]" not in s.log(), "nginx logged no [emerg]", s.log())
    check_nothing_left(s, pids, "--lifetime")
    s.stop()


def test_nginx_dies():
    s = Stack(name="shutdown-nginx").start()
    pids = s.all_pids()
    check(len(s.workers) == 2, "nginx runs 2 workers (%r)" % s.workers)
    os.kill(s.nginx_pid, signal.SIGKILL)
    try:
        rc = s.proc.wait(timeout=60)
    except Exception:
        rc = None
    log = s.log()
    check(rc not in (None, 0), "fb-run.sh exits non-zero when nginx dies "
          "(status %r)" % rc, log)
    check(re.search(r"backend \(pid %d\) exited with status 0" % s.backend_pid,
                    log) is not None, "it stopped the backend (status 0)", log)
    check_nothing_left(s, pids, "nginx killed")
    s.stop()


fbtest.run(test_backend_sigterm, test_run_sigint, test_lifetime,
           test_nginx_dies)
fbtest.finish()
