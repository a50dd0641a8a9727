#!/usr/bin/env python3
"""test-limits: overload and slow clients get the contract's JSON errors or
a closed connection within a bound, never a hang, and the service recovers.

1. A stalled backend with a full backlog: fastbank (--backlog 1) is
   stopped with SIGSTOP, so it accepts nothing and answers nothing.  Eight
   concurrent requests through nginx: the connections the kernel can no
   longer queue are refused at once (nginx: 502 BACKEND_UNAVAILABLE); the
   ones in the backlog or on kept connections wait for the shipped 5 s
   fastcgi_read_timeout (504 BACKEND_TIMEOUT).  Every reply is JSON and
   comes within 5 s plus slack.  After SIGCONT the service answers again.
2. Slow clients: one sends half a request header, one sends its headers
   and half a body, and both then stall.  nginx closes both after the
   shipped 10 s client_header_timeout / client_body_timeout (bounded
   here by 30 s), and meanwhile a backend with a single worker thread
   keeps answering other clients: a slow client holds an nginx
   connection, never a backend thread.
"""

import os
import select
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import SANITIZER, Client, Stack, check, check_json, note  # noqa: E402

READ_TIMEOUT = 5            # fastcgi_read_timeout in nginx/fastbank.conf
SLOW_TIMEOUT = 10           # client_header_timeout, client_body_timeout
SLACK = 25 if SANITIZER else 10


def test_stalled_backend():
    stack = Stack(threads=2, extra=["--backlog", "1"], name="stalled").start()
    try:
        c = stack.client()
        check_json(c.post("/accounts", {"owner": "Alice"}), 201, "create")
        c.close()

        os.kill(stack.backend_pid, signal.SIGSTOP)
        check(fbtest.wait_stopped(stack.backend_pid, 30),
              "backend pid %d stopped (SIGSTOP), every thread"
              % stack.backend_pid)
        results = [None] * 8

        def one(i):
            t0 = time.monotonic()
            try:
                r = Client(stack.port, timeout=60).get("/accounts/1")
                results[i] = (r, time.monotonic() - t0)
            except Exception as e:      # noqa: BLE001
                results[i] = (e, time.monotonic() - t0)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        os.kill(stack.backend_pid, signal.SIGCONT)
        note("backend resumed (SIGCONT)")

        statuses = []
        for i, res in enumerate(results):
            if res is None or isinstance(res[0], Exception):
                check(False, "request %d got a reply" % i, repr(res))
                continue
            r, secs = res
            statuses.append(r.status)
            obj = r.json
            ok = ((r.status == 502 and obj is not None
                   and obj.get("code") == "BACKEND_UNAVAILABLE")
                  or (r.status == 504 and obj is not None
                      and obj.get("code") == "BACKEND_TIMEOUT"))
            check(ok and r.media_type == "application/json",
                  "request %d: %d %s, JSON" % (i, r.status,
                                               (obj or {}).get("code")), r)
            check(secs <= READ_TIMEOUT + SLACK,
                  "request %d answered in %.1f s (bound %d s)"
                  % (i, secs, READ_TIMEOUT + SLACK))
        check(502 in statuses, "a full backlog is refused at once: 502 "
              "(statuses %r)" % sorted(statuses))

        deadline = time.monotonic() + 30
        r = None
        while time.monotonic() < deadline:
            r = Client(stack.port, timeout=10).get("/accounts/1")
            if r.status == 200:
                break
            time.sleep(0.2)
        check(r is not None and r.status == 200,
              "after SIGCONT the service answers again", r)
    finally:
        try:
            os.kill(stack.backend_pid, signal.SIGCONT)
        except (ProcessLookupError, TypeError):
            pass
        rc = stack.stop()
        check(rc == 0, "fb-run.sh stopped cleanly (exit %r)" % rc)


def test_slow_clients():
    stack = Stack(threads=1, name="slow").start()
    try:
        slow = []
        head = socket.create_connection(("127.0.0.1", stack.port), timeout=60)
        head.sendall(b"GET /accounts/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow:")
        slow.append(("half a header", head))
        body = socket.create_connection(("127.0.0.1", stack.port), timeout=60)
        body.sendall(b"POST /accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 30\r\n\r\n{\"owner\": ")
        slow.append(("half a body", body))
        t0 = time.monotonic()

        # Meanwhile the single backend thread serves everyone else: each
        # reply comes while both slow connections are still held open and
        # silent.  A thread pinned by a slow client would be freed only
        # when nginx gives up on that client, closing its connection, so
        # the reply would find them closed.  No time is judged.
        c = stack.client()
        served, late, bad = 0, 0, None
        while time.monotonic() - t0 < SLOW_TIMEOUT - 2:
            r = c.get("/healthz")
            ready, _, _ = select.select([s for _, s in slow], [], [], 0)
            if ready:
                late += 1
            elif r.status == 200:
                served += 1
            else:
                bad = r
            time.sleep(0.1)
        check(served > 0 and late == 0 and bad is None,
              "while two clients stall, others are served (%d requests "
              "answered 200 while both stalled, %d after)" % (served, late),
              bad)
        c.close()

        for what, s in slow:
            s.settimeout(max(1, SLOW_TIMEOUT + 20 - (time.monotonic() - t0)))
            data, closed = b"", False
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        closed = True
                        break
                    data += b
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
            secs = time.monotonic() - t0
            s.close()
            check(closed and SLOW_TIMEOUT - 1 <= secs <= SLOW_TIMEOUT + 20,
                  "%s: nginx closed the connection after %.1f s (shipped "
                  "timeout %d s)" % (what, secs, SLOW_TIMEOUT),
                  data[:200])
            check(b"HTTP/1.1 2" not in data, "%s: no request reached the "
                  "backend" % what, data[:200])
        r = stack.client().get("/accounts/1")
        check(r.status == 404, "the half-sent POST /accounts created nothing",
              r)
    finally:
        rc = stack.stop()
        check(rc == 0, "fb-run.sh stopped cleanly (exit %r)" % rc)


if __name__ == "__main__":
    fbtest.require()
    fbtest.run(test_stalled_backend, test_slow_clients)
    fbtest.finish()
