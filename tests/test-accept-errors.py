#!/usr/bin/env python3
"""test-accept-errors: accept4() failing over and over with the
connection still queued neither floods the log nor loses the connection,
and only a shortage makes a worker back off.

The backend runs alone on a unix socket under strace, which makes its
first calls of accept4() fail; a client connected meanwhile must be
served once accept4() works again, and the backend must have logged the
failure a few times (at most once a second), not once per call.
- ENOBUFS (the kernel short of memory, as ENOMEM, EMFILE, ENFILE): the
  listening socket stays readable, so the worker backs off 10 ms
  (usleep) instead of spinning on it.
- EPROTO (an error of that one connection, as ENETDOWN and the other
  network errors accept(2) names): the worker tries the next at once,
  and never sleeps; strace's own trace shows it.
A worker's epoll_wait() failing is no such error: that worker stops the
backend, which exits 1, not 0, so that its supervisor sees a failure.

Needs strace (Debian package strace); a missing one is a hard error.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import SANITIZER, check  # noqa: E402
import fbfcgi  # noqa: E402

HANG_BOUND = 120 if SANITIZER else 60

strace = fbtest.require_strace()


def accept_failing(err, fails, message):
    """The first fails accept4() calls fail with err: a queued client is
    served, the failure logged at most once a second.  strace's trace of
    accept4 and the sleeps, as text."""
    tmp = tempfile.mkdtemp(prefix="fb-accept-errors-")
    sock_path = os.path.join(tmp, "fastbank.sock")
    trace_path = os.path.join(tmp, "trace.txt")
    backend = fbtest.Traced(
        strace, ["-e", "trace=accept4,nanosleep,clock_nanosleep",
                 "-e", "inject=accept4:error=%s:when=1..%d" % (err, fails)],
        ["--listen", "unix:" + sock_path, "--threads", "2",
         "--data-dir", os.path.join(tmp, "data")],
        os.path.join(tmp, "backend.log"), trace=trace_path)
    trace = ""
    try:
        # The first connection meets the failing accept4() calls; the
        # backlog keeps it until one succeeds.  No accept4() fails before
        # a connection is queued: the records' seconds lie after t0.  The
        # wall clock, as the backend's time() that counts them.
        t0 = time.time()
        s = fbtest.connect_listening(sock_path, HANG_BOUND)
        s.sendall(fbfcgi.request("GET", "/healthz"))
        status, body = fbfcgi.reply(s)
        s.close()
        check(status == 200, "%s: the queued connection is served once "
              "accept4() works again" % err, (status, body))

        lines = [l for l in backend.log().splitlines()
                 if "accept4() failed" in l]
        # At most one record a second, whichever of the two workers meets
        # the failure: one for each second of the clock from t0's to now's.
        bound = int(time.time()) - int(t0) + 1
        check(lines and len(lines) <= bound,
              "%s: %d failed accept4() calls logged at most once a second "
              "(%d lines, bound %d)" % (err, fails, len(lines), bound),
              "\n".join(lines[:5]))
        check(all(message in l for l in lines),
              "%s: the records name the call and the error" % err,
              "\n".join(lines[:3]))
    finally:
        rc = backend.stop(30)
        check(rc == 0, "%s: the backend stopped with status 0 on SIGTERM"
              % err, backend.log()[-2000:])
        try:
            with open(trace_path, errors="replace") as f:
                trace = f.read()
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return trace


def sleeps(trace):
    """The workers' back-offs: usleep(10000), a 10 ms clock_nanosleep (a
    sanitizer runtime's own threads sleep too, for other lengths)."""
    return [l for l in trace.splitlines()
            if "nanosleep(" in l and "tv_nsec=10000000}" in l]


def test_shortage_backs_off():
    trace = accept_failing("ENOBUFS", 300, "No buffer space available")
    check(len(sleeps(trace)) > 0, "ENOBUFS: the workers back off (usleep "
          "seen in the trace)", "\n".join(trace.splitlines()[:5]))


def test_connection_error_retried():
    trace = accept_failing("EPROTO", 50, "Protocol error")
    check("EPROTO" in trace, "EPROTO: the trace shows the injected "
          "failures", "\n".join(trace.splitlines()[:5]))
    check(not sleeps(trace), "EPROTO: no worker sleeps: the next "
          "connection is tried at once", "\n".join(sleeps(trace)[:5]))


def test_worker_failure_exits_1():
    tmp = tempfile.mkdtemp(prefix="fb-accept-errors-")
    sock_path = os.path.join(tmp, "fastbank.sock")
    backend = fbtest.Traced(
        strace, ["-e", "trace=epoll_wait",
                 "-e", "inject=epoll_wait:error=EINVAL:when=1"],
        ["--listen", "unix:" + sock_path, "--threads", "1",
         "--data-dir", os.path.join(tmp, "data")],
        os.path.join(tmp, "backend.log"))
    try:
        try:
            rc = backend.proc.wait(timeout=HANG_BOUND)
        except subprocess.TimeoutExpired:
            rc = backend.stop(30)
        log = backend.log()
        check(rc == 1 and "epoll_wait() failed" in log,
              "epoll_wait() failing stops the backend with status 1 "
              "(got %r)" % rc, log[-2000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


fbtest.run(test_shortage_backs_off, test_connection_error_retried,
           test_worker_failure_exits_1)
fbtest.finish()
