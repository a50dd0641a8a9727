#!/usr/bin/env python3
"""test-accept-errors: accept4() failing over and over with the
connection still queued (ENOBUFS, ENOMEM: the kernel short of memory)
neither floods the log nor loses the connection.

The backend runs alone on a unix socket under strace, which makes its
first FAILS calls of accept4() fail with ENOBUFS.  The listening socket
stays readable all that time, as it does while the kernel is short of
memory.  A client connected meanwhile must be served once accept4()
works again, and the backend must have logged the failure a few times
(at most once a second), not once per call.

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
from fbtest import BACKEND, SANITIZER, check  # noqa: E402
import fbfcgi  # noqa: E402

FAILS = 300                 # accept4() calls that fail
HANG_BOUND = 120 if SANITIZER else 60

strace = shutil.which("strace", path=os.environ.get("PATH", "")
                      + ":/usr/bin:/bin")
if strace is None:
    fbtest.hard_error("strace not found: install the Debian package strace")
if not os.access(BACKEND, os.X_OK):
    fbtest.hard_error("%s not found: the fastbank backend is not built"
                      % BACKEND)

tmp = tempfile.mkdtemp(prefix="fb-accept-errors-")
sock_path = os.path.join(tmp, "fastbank.sock")
log_path = os.path.join(tmp, "backend.log")
backend = fbtest.Traced(
    strace, ["-e", "trace=accept4",
             "-e", "inject=accept4:error=ENOBUFS:when=1..%d" % FAILS],
    ["--listen", "unix:" + sock_path, "--threads", "2",
     "--data-dir", os.path.join(tmp, "data")], log_path)


def test_accept_failing():
    deadline = time.monotonic() + HANG_BOUND
    while not os.path.exists(sock_path) and time.monotonic() < deadline:
        time.sleep(0.05)

    # The first connection meets the failing accept4() calls; the backlog
    # keeps it until one succeeds.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(HANG_BOUND)
    s.connect(sock_path)
    t0 = time.monotonic()
    s.sendall(fbfcgi.request("GET", "/healthz"))
    status, body = fbfcgi.reply(s)
    s.close()
    check(status == 200, "the queued connection is served once accept4() "
          "works again", (status, body))

    lines = [l for l in backend.log().splitlines() if "accept4() failed" in l]
    # At most one record a second, and the two workers may each write one
    # in the same second.
    bound = 2 * (int(time.monotonic() - t0) + 2)
    check(lines and len(lines) <= bound,
          "%d failed accept4() calls logged at most once a second (%d "
          "lines, bound %d)" % (FAILS, len(lines), bound),
          "\n".join(lines[:5]))
    check(all("No buffer space available" in l for l in lines),
          "the records name the call and the error", "\n".join(lines[:3]))


try:
    fbtest.run(test_accept_failing)
finally:
    rc = backend.stop(30)
    check(rc == 0, "the backend stopped with status 0 on SIGTERM",
          backend.log()[-2000:])
    shutil.rmtree(tmp, ignore_errors=True)

fbtest.finish()
