#!/usr/bin/env python3
"""test-load-count: fb-load counts each request once, where it belongs.

Against stand-in HTTP servers in this file, on loopback, that keep their
own tally of what they answered:
- one that answers a cycle of statuses (200, 201, 400 and 404 with a
  code, 500 without one, 503 with one) and never answers every 50th
  request: the JSON's statuses, codes, missing codes, ok/other, 5xx and
  timeouts are the server's own counts, and nothing is "lost";
- one that answers at once, with a warm-up: the warm-up's requests are
  more than the server saw beyond --requests, and none is in the results;
- one that takes 20 ms per response on one connection, at a fixed rate of
  200/s: the k-th send cannot leave before the (k-1)-th answer, 20k ms
  in, and was due at 5k ms, so the latency of the last of n responses is
  at least 15(n-1) + 20 ms when counted from the intended send time (as
  it must be) and about 20 ms when counted from the actual send;
- the same with a warm-up: the warm-up's sends, all late, are not in
  "late_sends", which counts measured sends only;
- one that answers at once, at a fixed rate of 200/s over two threads
  for 1 s: at most 200 sends (and two for the schedules' ends) are due
  in the window, not 200 per thread.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import check, note  # noqa: E402

FB_LOAD = fbtest.fb_load_binary()

# Unanswered requests time out after this long; every other answer comes
# well before it.
TIMEOUT = "10" if fbtest.SANITIZER else "5"

# (status, body) in turn; a body without "code" counts as missing one.
CYCLE = [(200, b'{"id": 1, "owner": "x", "balance": 5}'),
         (201, b'{"id": 2, "owner": "x", "balance": 0}'),
         (400, b'{"code": "INVALID_AMOUNT", "message": "no"}'),
         (404, b'{"code": "ACCOUNT_NOT_FOUND", "message": "no"}'),
         (500, b'{}'),
         (503, b'{"code": "SERVICE_UNAVAILABLE", "message": "no"}')]
REASON = {200: b"OK", 201: b"Created", 400: b"Bad Request",
          404: b"Not Found", 500: b"Internal Server Error",
          503: b"Service Unavailable"}


class Server(fbtest.StandIn):
    """Answers every request after delay seconds: 200, or the statuses of
    CYCLE in turn with cycle set; never answers every stall_every-th
    request (0: none).  Keeps count of what it did."""

    def __init__(self, cycle=False, stall_every=0, delay=0.0):
        self.cycle = cycle
        self.stall_every = stall_every
        self.delay = delay
        self.lock = threading.Lock()
        self.requests = 0
        self.stalled = 0
        self.status = {}
        self.codes = {}
        self.missing = 0
        fbtest.StandIn.__init__(self)

    def answer(self):
        """The next reply, counted; None to leave the request unanswered."""
        with self.lock:
            self.requests += 1
            n = self.requests
            if self.stall_every and n % self.stall_every == 0:
                self.stalled += 1
                return None
            status, body = CYCLE[n % len(CYCLE)] if self.cycle else CYCLE[0]
            self.status[status] = self.status.get(status, 0) + 1
            if status >= 400:
                code = json.loads(body).get("code")
                if code is None:
                    self.missing += 1
                else:
                    self.codes[code] = self.codes.get(code, 0) + 1
        return (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s"
                % (status, REASON[status], len(body), body))

    def serve(self, c):
        buf = b""
        while not self.done.is_set():
            buf = self.read_request(c, buf)
            if buf is None:
                return
            reply = self.answer()
            if reply is None:
                # fb-load times it out and closes the connection
                while not self.done.is_set():
                    try:
                        if not c.recv(4096):
                            return
                    except socket.timeout:
                        continue
                return
            if self.delay:
                time.sleep(self.delay)
            c.sendall(reply)


def fb_load(server, *extra):
    """Runs fb-load in get mode against server, then stops it; returns
    (exit status, its JSON, stderr)."""
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as jf:
            cmd = [FB_LOAD, "--port", str(server.port), "--get", "/x",
                   "--quiet", "--json", jf.name,
                   "--timeout", TIMEOUT] + list(extra)
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=fbtest.REQUEST_TIMEOUT)
            try:
                result = json.load(open(jf.name))
            except (OSError, ValueError):
                result = {}
    finally:
        server.stop()
    return p.returncode, result, p.stderr


def test_statuses():
    srv = Server(cycle=True, stall_every=50)
    rc, r, err = fb_load(srv, "--connections", "4", "--requests", "150")
    note("the server answered %r, codes %r, %d without a code; left %d "
         "unanswered" % (srv.status, srv.codes, srv.missing, srv.stalled))
    check(rc == 0 and srv.requests == 150,
          "150 requests sent, the run completed (exit 0)",
          "exit %d, %d requests\n%s" % (rc, srv.requests, err))

    status = {int(k): v for k, v in r.get("status", {}).items()}
    check(status == srv.status, "responses counted under their own status",
          "%r, the server sent %r" % (status, srv.status))
    check(r.get("codes") == srv.codes
          and r.get("codes_missing") == srv.missing,
          "4xx/5xx counted under their own code, or as having none",
          "%r and %r missing; the server sent %r and %d"
          % (r.get("codes"), r.get("codes_missing"), srv.codes, srv.missing))

    ok = srv.status.get(200, 0) + srv.status.get(201, 0)
    other = sum(srv.status.values()) - ok
    get = r.get("ops", {}).get("get", {})
    check(get.get("ok") == ok and get.get("other") == other,
          "2xx counted as ok (%d), every other status as other (%d)"
          % (ok, other), json.dumps(get))

    summary = r.get("summary", {})
    fivexx = srv.status.get(500, 0) + srv.status.get(503, 0)
    check(summary.get("status_5xx") == fivexx
          and summary.get("responses") == sum(srv.status.values()),
          "the summary's responses and 5xx (%d) are the server's"
          % fivexx, json.dumps(summary))

    errors = r.get("errors", {})
    check(errors.get("timeouts") == srv.stalled and errors.get("lost") == 0
          and summary.get("timeouts") == srv.stalled,
          "each unanswered request counted as a timeout (%d), none as lost"
          % srv.stalled, json.dumps(errors))


def test_warmup():
    srv = Server()
    rc, r, err = fb_load(srv, "--connections", "2", "--requests", "200",
                         "--warmup", "1")
    responses = r.get("result", {}).get("responses")
    note("the server answered %d requests, fb-load counted %r"
         % (srv.requests, responses))
    check(rc == 0 and srv.requests > 200,
          "the warm-up's requests came on top of --requests 200",
          "exit %d, %d requests\n%s" % (rc, srv.requests, err))
    check(responses == 200 and r.get("status") == {"200": 200}
          and r.get("latency_us", {}).get("count") == 200,
          "the measured requests only are in the results",
          json.dumps({k: r.get(k) for k in ("result", "status")}))


def test_rate_latency():
    srv = Server(delay=0.02)
    rc, r, err = fb_load(srv, "--connections", "1", "--rate", "200",
                         "--requests", "10")
    n = r.get("result", {}).get("responses", 0)
    max_us = r.get("latency_us", {}).get("max", 0)
    note("%d responses, the slowest %.1f ms from its intended send time"
         % (n, max_us / 1000))
    check(rc == 0 and n == 10 and n == srv.requests,
          "the run completed, every request answered (exit 0)",
          "exit %d, %d responses, %d requests\n%s"
          % (rc, n, srv.requests, err))
    check(max_us >= (15 * (n - 1) + 20) * 1000,
          "latency counted from the intended send time: the last of %d "
          "at least %d ms" % (n, 15 * (n - 1) + 20),
          json.dumps(r.get("latency_us")))


def test_late_warmup():
    srv = Server(delay=0.02)
    rc, r, err = fb_load(srv, "--connections", "1", "--rate", "200",
                         "--warmup", "1", "--duration", "0.3")
    errors = r.get("errors", {})
    sent = r.get("result", {}).get("responses", 0) + errors.get("timeouts", 0)
    note("%d requests in all, %d measured, %r sent late"
         % (srv.requests, sent, errors.get("late_sends")))
    check(rc == 0 and srv.requests > sent + 1,
          "the warm-up sent, all of it late (exit 0)",
          "exit %d, %d requests\n%s" % (rc, srv.requests, err))
    check(errors.get("late_sends", -1) <= sent,
          "late sends counted among the measured ones only (%r of %d)"
          % (errors.get("late_sends"), sent), json.dumps(errors))


def test_rate_threads():
    srv = Server()
    rc, r, err = fb_load(srv, "--connections", "2", "--threads", "2",
                         "--rate", "200", "--duration", "1")
    n = r.get("result", {}).get("responses", 0)
    unsent = r.get("errors", {}).get("unsent", 0)
    note("%d responses, %d due and never sent" % (n, unsent))
    check(rc == 0 and n > 0, "the run completed (exit 0)",
          "exit %d\n%s" % (rc, err))
    check(n + unsent <= 202, "200/s over two threads for 1 s: at most "
          "200 sends due, and one per thread for the ends (%d)" % (n + unsent),
          json.dumps(r.get("errors")))


def json_fails(path, what):
    """fb-load with --json path, which cannot be written: exit 3, named,
    and the table's exit line says 3 too."""
    srv = Server()
    try:
        p = subprocess.run([FB_LOAD, "--port", str(srv.port), "--get", "/x",
                            "--requests", "20", "--json", path],
                           capture_output=True, text=True,
                           timeout=fbtest.REQUEST_TIMEOUT)
    finally:
        srv.stop()
    lines = [l for l in p.stdout.splitlines() if l.startswith("exit:")]
    note("%s: fb-load exited %d; its table says %r"
         % (what, p.returncode, lines))
    check(p.returncode == 3 and os.path.basename(path) in p.stderr,
          "%s: exit 3, named" % what,
          "exit %d\n%s" % (p.returncode, p.stderr))
    check(lines == ["exit:      3"],
          "%s: the table's exit line is the exit status" % what, p.stdout)


def test_json_unwritable():
    with tempfile.TemporaryDirectory() as d:
        json_fails(os.path.join(d, "missing", "run.json"),
                   "a JSON file that cannot be opened")
    # Opens, and every write fails with ENOSPC: seen at fclose().
    if os.path.exists("/dev/full"):
        json_fails("/dev/full", "a JSON file that cannot be written")
    else:
        fbtest.hard_error("/dev/full is missing: the write failure case "
                          "cannot run")


fbtest.run(test_statuses, test_warmup, test_rate_latency, test_late_warmup,
           test_rate_threads, test_json_unwritable)
fbtest.finish()
