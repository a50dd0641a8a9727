#!/usr/bin/env python3
"""test-metrics-backend: what /metrics says about the process and its
workers, from a backend whose system calls strace slows down.

The backend runs alone (no nginx) on a unix socket in a temporary
directory, under strace with delays injected where they show an ordering
that a fast run hides:

- flock() of the data directory returns 2 s late, so start-up (before any
  request can be served) takes that much longer:
  process_start_time_seconds must still be the process's start, as
  client libraries export it (/proc/self/stat), not the moment the
  workers began serving;
- every writev() (the replies) returns 1 s late, after its data is in
  the socket: a worker whose reply the client has read must already be
  idle, so that a scrape sent next, to the other worker, finds only
  itself busy (doc/metrics.txt).

Needs strace (Debian package strace); a missing one is a hard error.
"""

import os
import shutil
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import SANITIZER, check  # noqa: E402
import fbfcgi  # noqa: E402
import fbmetrics  # noqa: E402

METRICS_ON = os.environ.get("FB_METRICS", "yes") != "no"
# The delays are wide so that a slow or loaded machine (the sanitizer
# builds) cannot blur the orderings they show; nothing here measures speed.
START_DELAY = 4.0           # s, added to start-up by the flock() delay
REPLY_DELAY = 3.0           # s, added after each reply's writev()
READY_BOUND = 120 if SANITIZER else 30

strace = fbtest.require_strace()

tmp = tempfile.mkdtemp(prefix="fb-metrics-backend-")
sock_path = os.path.join(tmp, "fastbank.sock")
log_path = os.path.join(tmp, "backend.log")
launched = time.time()
backend = fbtest.Traced(
    strace, ["-e", "trace=flock,writev",
             "-e", "inject=flock:delay_exit=%d" % (START_DELAY * 1e6),
             "-e", "inject=writev:delay_exit=%d" % (REPLY_DELAY * 1e6)],
    ["--listen", "unix:" + sock_path, "--threads", "2",
     "--data-dir", os.path.join(tmp, "data")], log_path)


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(fbtest.REQUEST_TIMEOUT)
    s.connect(sock_path)
    return s


def call(s, method, uri):
    s.sendall(fbfcgi.request(method, uri))
    return fbfcgi.reply(s)


def scrape(s):
    status, body = call(s, "GET", "/metrics")
    check(status == 200, "GET /metrics -> 200", status)
    e = fbmetrics.parse(body.decode("utf-8"))
    check(not e.errors, "a well-formed exposition", "\n".join(e.errors[:20]))
    return e


def wait_ready():
    deadline = time.monotonic() + READY_BOUND + START_DELAY
    while time.monotonic() < deadline:
        if backend.proc.poll() is not None:
            return False
        try:
            s = connect()
            s.close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def test_start_time():
    """process_start_time_seconds is when the process started, not when
    it began serving."""
    s = connect()
    t = scrape(s).get("process_start_time_seconds")
    s.close()
    # btime in /proc/stat has whole seconds: a second either way, and
    # exec under timeout and strace may take a while.
    check(t is not None and launched - 1.5 <= t <= launched + 2.5,
          "process_start_time_seconds is the process's start "
          "(launched at %.2f; start-up took %.1f s more)"
          % (launched, START_DELAY), t)


def test_busy_after_reply():
    """A worker marks itself idle before its reply leaves."""
    # Every earlier reply's writev() has returned: both workers are free.
    time.sleep(REPLY_DELAY + 0.2)
    # Consecutive connections go to the two workers in turn.
    a = connect()
    b = connect()
    status, _ = call(a, "GET", "/healthz")
    check(status == 200, "GET /healthz -> 200", status)
    t0 = time.monotonic()
    e = scrape(b)
    if not METRICS_ON:
        check("fastbank_worker_threads_busy" not in e.names(),
              "no busy sample with metrics compiled out")
    else:
        check(e.get("fastbank_worker_threads_busy") == 1,
              "fastbank_worker_threads_busy is 1 (the scrape) while the "
              "worker that answered /healthz is still returning from "
              "writev()", e.get("fastbank_worker_threads_busy"))
    # The other worker answered: the scrape did not wait behind /healthz
    # on one worker (which would show 1 whatever the order).
    check(time.monotonic() - t0 < 0.6 * REPLY_DELAY,
          "the scrape was answered by the other worker", time.monotonic() - t0)
    a.close()
    b.close()


try:
    if check(wait_ready(), "the backend listens under strace",
             backend.log()):
        fbtest.run(test_busy_after_reply, test_start_time)
finally:
    rc = backend.stop(30 + 10 * REPLY_DELAY)
    check(rc == 0, "the backend stopped with status 0 on SIGTERM",
          backend.log())
    shutil.rmtree(tmp, ignore_errors=True)

fbtest.finish()
