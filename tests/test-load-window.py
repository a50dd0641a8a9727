#!/usr/bin/env python3
"""test-load-window: fb-load's error and rate counters cover the measured
window only, as its responses and latencies do; the warm-up before it is
in none of them.

Against stand-in HTTP servers in this file, on loopback:
- one that closes the connection after every third response (as nginx
  does after keepalive_requests): a run of 1 s after 1 s of warm-up
  counts the reconnects of the measured second, about a third of its
  responses, not those of the warm-up as well;
- one that takes 20 ms per response on each of two connections (100/s)
  at a fixed rate of 400/s: the sends due in the measured second and
  never made are at most that second's 400, not the warm-up's too.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import check, note  # noqa: E402

FB_LOAD = fbtest.fb_load_binary()

BODY = b'{"id": 1, "owner": "x", "balance": 5}'


class Server(fbtest.StandIn):
    """Answers every request 200; closes after every close_every-th
    response on a connection (0: never), after delay seconds each."""

    def __init__(self, close_every=0, delay=0.0):
        self.close_every = close_every
        self.delay = delay
        fbtest.StandIn.__init__(self)

    def serve(self, c):
        buf, n = b"", 0
        while not self.done.is_set():
            buf = self.read_request(c, buf)
            if buf is None:
                return
            n += 1
            close = self.close_every and n % self.close_every == 0
            if self.delay:
                time.sleep(self.delay)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s"
                      % (len(BODY),
                         b"Connection: close\r\n" if close else b"",
                         BODY))
            if close:
                return


def fb_load(port, *extra):
    """Runs fb-load in get mode; returns (exit status, its JSON, stderr)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as jf:
        cmd = [FB_LOAD, "--port", str(port), "--get", "/accounts/1/balance",
               "--quiet", "--json", jf.name] + list(extra)
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=fbtest.REQUEST_TIMEOUT)
        try:
            result = json.load(open(jf.name))
        except (OSError, ValueError):
            result = {}
    return p.returncode, result, p.stderr


def test_reconnects():
    srv = Server(close_every=3)
    try:
        rc, result, err = fb_load(srv.port, "--connections", "4",
                                  "--warmup", "1", "--duration", "1")
    finally:
        srv.stop()
    responses = result.get("result", {}).get("responses", 0)
    reconnects = result.get("errors", {}).get("reconnects", -1)
    note("%d responses, %d reconnects in the measured second"
         % (responses, reconnects))
    check(rc == 0 and responses > 30, "the run answered (exit 0)",
          "exit %d\n%s" % (rc, err))
    # One close in three responses, and one reopen at most per
    # connection for a close that came just before the window.
    check(0 < reconnects <= responses // 3 + 4,
          "reconnects counted over the measured second only "
          "(%d for %d responses)" % (reconnects, responses),
          json.dumps(result.get("errors")))


def test_unsent():
    srv = Server(delay=0.02)
    try:
        rc, result, err = fb_load(srv.port, "--connections", "2",
                                  "--warmup", "1", "--duration", "1",
                                  "--rate", "400", "--timeout", "10")
    finally:
        srv.stop()
    unsent = result.get("errors", {}).get("unsent", -1)
    note("%d sends due and never made" % unsent)
    check(rc == 0, "the run completed (exit 0)", "exit %d\n%s" % (rc, err))
    check(0 < unsent <= 400, "sends due in the measured second and never "
          "made: at most its 400 (%d)" % unsent,
          json.dumps(result.get("errors")))


fbtest.run(test_reconnects, test_unsent)
fbtest.finish()
