#!/usr/bin/env python3
"""test-fds: the backend out of descriptors keeps its journal.

fastbank runs with a descriptor limit of 128 and a snapshot every 20
records; more kept FastCGI connections are opened than the limit allows.
It is started with a soft limit of 64 under that hard limit of 128, and
must raise the soft one to the hard one itself.
The connections must not take the descriptors the journal needs: with
every connection the backend took still open, deposits that make the
snapshotter write a snapshot and the writer open the next segment are
answered 200, and /healthz stays "ok".  A journal that cannot open its
next segment fails for good (doc/journal.txt, section 7): every mutation
would be 503 until a restart.  The connections beyond the room left are
refused at once (closed), not left in the backlog.

Talks to the backend's socket directly, as nginx does; needs no nginx.
"""

import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import BACKEND, check, note  # noqa: E402
from fbfcgi import reply, request  # noqa: E402

LIMIT = 128         # the backend's RLIMIT_NOFILE: hard, and soft once raised
CONNS = LIMIT + 32  # kept connections asked for: more than fit
HANG_BOUND = 30     # seconds: a hang bound, not a timing check

# The backend stops by itself should this script die first.
SAFETY = ["timeout", "-k", "10", "1800" if fbtest.SANITIZER else "600"]


def limit_fds():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT // 2, LIMIT))


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(HANG_BOUND)
    s.connect(path)
    return s


def moved_on(names):
    """A segment after the first: its name holds its first record's LSN
    (the snapshot may have removed the first one already)."""
    return any(n.startswith("journal-") and n.endswith(".log")
               and int(n[len("journal-"):-len(".log")]) > 1 for n in names)


def socket_fds(pid):
    """The descriptors of pid that are sockets."""
    fds = []
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith(
                    "socket:"):
                fds.append(int(name))
        except OSError:
            pass                    # closed meanwhile
    return fds


def call(s, method, uri, body=b""):
    s.sendall(request(method, uri, body))
    return reply(s)


def main():
    if not os.access(BACKEND, os.X_OK):
        fbtest.hard_error("%s not found: the backend is not built" % BACKEND)

    tmp = tempfile.mkdtemp(prefix="fb-test-fds-")
    data = os.path.join(tmp, "data")
    path = os.path.join(tmp, "fb.sock")
    log = open(os.path.join(tmp, "backend.log"), "w+")
    os.mkdir(data)

    p = subprocess.Popen(SAFETY + [BACKEND, "--config", "/dev/null",
                                   "--listen", "unix:" + path,
                                   "--threads", "1", "--data-dir", data,
                                   "--snapshot-records", "20",
                                   "--backlog", "1024"],
                         stdin=subprocess.DEVNULL, stderr=log,
                         preexec_fn=limit_fds)
    conns = []
    try:
        s = fbtest.connect_listening(path, HANG_BOUND)
        st, body = call(s, "POST", "/accounts", b'{"owner":"Ana"}')
        check(st == 201, "an account is created", body)
        conns.append(s)

        # Every connection made, then a request on each.  The backend
        # serves those it takes; the others it closes, or (the defect)
        # leaves in its backlog, which only the hang bound ends.
        for _ in range(CONNS):
            conns.append(connect(path))
        answered, refused = [], []
        pending = set()
        for s in conns[1:]:
            try:
                s.sendall(request("GET", "/healthz"))
                pending.add(s)
            except OSError:
                refused.append(s)      # closed already

        deadline = time.monotonic() + HANG_BOUND
        while pending and time.monotonic() < deadline:
            ready, _, _ = select.select(list(pending), [], [], 1.0)
            for s in ready:
                pending.discard(s)
                try:
                    st, _ = reply(s)
                    answered.append(s)
                except (EOFError, OSError):
                    refused.append(s)

        note("%d answered, %d refused, %d never taken"
             % (len(answered), len(refused), len(pending)))
        check(not pending, "every connection is served or refused, none "
              "left waiting in the backlog")
        check(len(answered) > LIMIT // 2, "most connections are served")
        check(refused, "the connections beyond the room left are refused")

        kids = fbtest.children_of(p.pid)   # p is timeout's
        soft = None
        if kids:
            with open("/proc/%d/limits" % kids[0]) as f:
                for line in f:
                    if line.startswith("Max open files"):
                        soft = int(line.split()[3])
        check(soft == LIMIT, "the soft descriptor limit is raised to the "
              "hard one, %d (got %r)" % (LIMIT, soft))

        # The room is the limit less FB_FD_RESERVE (32): no connection
        # the backend took holds a descriptor in the reserve.
        fds = socket_fds(kids[0]) if kids else []
        check(fds and max(fds) < LIMIT - 32,
              "every socket's descriptor is below %d (the reserve's 32 "
              "left free)" % (LIMIT - 32), sorted(fds)[-3:])

        # With all of them still open: a snapshot (every 20 records) and
        # the segment it starts need descriptors.
        s = conns[0]
        statuses = {}
        for _ in range(30):
            st, body = call(s, "POST", "/accounts/1/deposit",
                            b'{"amount":1}')
            statuses[st] = statuses.get(st, 0) + 1
        check(statuses == {200: 30}, "30 deposits answered 200", statuses)

        deadline = time.monotonic() + HANG_BOUND
        while time.monotonic() < deadline:
            names = os.listdir(data)
            if moved_on(names) or "failed" in open(log.name).read():
                break
            time.sleep(0.1)

        for _ in range(30):
            st, body = call(s, "POST", "/accounts/1/deposit",
                            b'{"amount":1}')
            statuses[st] = statuses.get(st, 0) + 1
        check(statuses == {200: 60}, "60 deposits answered 200", statuses)
        check(moved_on(os.listdir(data)),
              "the journal opened its next segment", os.listdir(data))

        st, body = call(s, "GET", "/healthz")
        check(st == 200 and b'"ok"' in body, "/healthz is ok", body)
        st, body = call(s, "GET", "/accounts/1")
        check(st == 200 and b'"balance":60' in body, "the balance is 60",
              body)
    finally:
        for s in conns:
            s.close()
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(HANG_BOUND)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        check(rc == 0, "the backend exits 0 after SIGTERM", rc)
        log.seek(0)
        text = log.read()
        check("journal" not in text or "failed:" not in text,
              "the journal did not fail", text[-2000:])
        subprocess.run(["rm", "-rf", tmp])

    fbtest.finish()


main()
