#!/usr/bin/env python3
"""test-keepalive: keep-alive, client side and upstream side.

- A thousand requests on one client connection all succeed, on that one
  connection; nginx reuses its upstream connections to the backend (seen
  from the backend's open sockets: the same few connections stay open
  between requests, instead of one per request).
- 500 concurrent keep-alive connections (asyncio), all open at once, send
  8,000 requests: first back to back, then paced at about 500 requests per
  second.  All finish with no 5xx and no error, and the deposits among them
  all count.  Latencies are printed for the reader, never judged.
- More idle kept FastCGI connections than the backend has threads, each
  left as nginx leaves one: requests through nginx and a second request on
  each of them are all answered (a backend that pins a thread to every
  kept connection hangs here).
- Afterwards the backend holds no more connections than nginx's keep-alive
  caches allow (2 workers x the shipped keepalive): closed upstream connections are
  not leaked.
"""

import asyncio
import os
import random
import re
import resource
import socket
import sys
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
import fbfcgi  # noqa: E402
from fbtest import Ledger, Stack, check, note  # noqa: E402

CLIENTS = 500
# worker_processes x the upstream keepalive of the shipped configuration
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "nginx", "fastbank.conf")) as _f:
    KEEPALIVE_CACHE = 2 * int(re.search(r"^\s*keepalive\s+(\d+);",
                                        _f.read(), re.M).group(1))

stack = Stack(name="keepalive").start()
main = stack.client()
L = Ledger(main)
sock_path = os.path.join(stack.dir, "fastbank.sock")


def backend_connections():
    """Inodes of the backend's accepted connections on its socket."""
    named = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[7] == sock_path:
                listening = int(parts[3], 16) & 0x10000
                if not listening:
                    named.add(parts[6])
    mine = set()
    fd_dir = "/proc/%d/fd" % stack.backend_pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", link)
        if m and m.group(1) in named:
            mine.add(m.group(1))
    return mine


def test_one_connection():
    a = L.create("Keep Alive")
    c = stack.client()
    statuses = {}
    samples = []
    deposits = 0
    for i in range(1000):
        kind = i % 3
        if kind == 0:
            r = c.get("/healthz")
        elif kind == 1:
            r = c.get("/accounts/%d" % a)
        else:
            r = c.post("/accounts/%d/deposit" % a, {"amount": 1})
            if r.status == 200:
                deposits += 1
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if i % 50 == 49:
            samples.append(backend_connections())
    check(statuses == {200: 1000}, "1,000 requests on one connection: all 200",
          repr(statuses))
    check(c.connects == 1, "all 1,000 on the same client connection "
          "(%d connections opened)" % c.connects)
    c.close()
    L.set(a, deposits)
    L.verify("1,000 requests on one connection")

    seen = set().union(*samples) if samples else set()
    note("upstream connections seen in %d samples: %d distinct"
         % (len(samples), len(seen)))
    check(all(samples), "between requests the backend keeps a connection "
          "from nginx open (upstream keep-alive)",
          "samples: %r" % [len(s) for s in samples])
    check(0 < len(seen) <= 4, "the 1,000 requests reused a few upstream "
          "connections (%d distinct, not one per request)" % len(seen))


async def http_request(reader, writer, method, path, body=None):
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    writer.write(head.encode() + b"\r\n" + (body or b""))
    await writer.drain()
    status_line = await reader.readline()
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", status_line)
    if not m:
        raise IOError("bad status line %r" % status_line)
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        data = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            data += await reader.readexactly(size)
            await reader.readline()
    else:
        raise IOError("reply without length")
    if headers.get("connection", "").lower() == "close":
        raise IOError("server closed the keep-alive connection")
    return int(m.group(1)), data


async def load(accounts, per_client, interval):
    """CLIENTS keep-alive connections, all open at once, each sending
    per_client requests.  interval 0: back to back (a closed loop, as fast
    as the stack answers); otherwise each connection waits a random
    0..2*interval seconds before each request (an open loop of about
    CLIENTS/interval requests per second)."""
    latencies = []
    statuses = {}
    errors = []
    deposited = {a: 0 for a in accounts}
    connect_times = []
    ready = asyncio.Event()
    n_connected = [0]

    def connected():
        n_connected[0] += 1
        if n_connected[0] == CLIENTS:
            ready.set()

    async def client(k):
        rng = random.Random(k * 7919 + per_client)
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", stack.port),
                fbtest.REQUEST_TIMEOUT)
        except Exception as e:
            errors.append("connect: %r" % e)
            connected()
            return
        connect_times.append(time.monotonic() - t0)
        connected()
        await ready.wait()
        try:
            for i in range(per_client):
                if interval:
                    await asyncio.sleep(rng.uniform(0, 2 * interval))
                kind = rng.randrange(3)
                a = rng.choice(accounts)
                if kind == 0:
                    args = ("GET", "/healthz")
                elif kind == 1:
                    args = ("GET", "/accounts/%d/balance" % a)
                else:
                    args = ("POST", "/accounts/%d/deposit" % a, b'{"amount": 1}')
                t = time.monotonic()
                try:
                    status, _ = await asyncio.wait_for(
                        http_request(reader, writer, *args),
                        fbtest.REQUEST_TIMEOUT)
                except Exception as e:
                    errors.append("%s %s: %r" % (args[0], args[1], e))
                    return
                latencies.append(time.monotonic() - t)
                statuses[status] = statuses.get(status, 0) + 1
                if kind == 2 and status == 200:
                    deposited[a] += 1
        finally:
            writer.close()

    async def control():
        """While paced clients run: a request nginx answers alone (an
        internal page, 404) every 50 ms on a connection of its own.  Its
        latency is that of this machine, this client and nginx, without the
        backend, and tells a slow machine from a stalled backend."""
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        try:
            while not ready.is_set() or n_done[0] < CLIENTS:
                t = time.monotonic()
                await asyncio.wait_for(
                    http_request(reader, writer, "GET", "/_fastbank/error/404"),
                    fbtest.REQUEST_TIMEOUT)
                control_latencies.append(time.monotonic() - t)
                await asyncio.sleep(0.05)
        finally:
            writer.close()

    async def counted(k):
        try:
            await client(k)
        finally:
            n_done[0] += 1

    control_latencies = []
    n_done = [0]
    t0 = time.monotonic()
    tasks = [counted(k) for k in range(CLIENTS)]
    if interval:
        tasks.append(control())
    await asyncio.gather(*tasks)
    return latencies, statuses, errors, deposited, connect_times, \
        time.monotonic() - t0, control_latencies


def run_phase(name, accounts, per_client, interval):
    load_before = os.getloadavg()[0]
    latencies, statuses, errors, deposited, connect_times, elapsed, \
        control = asyncio.run(load(accounts, per_client, interval))
    total = CLIENTS * per_client
    note("%s: %d requests from %d connections in %.1f s; statuses %r; "
         "load average %.1f before, %.1f after"
         % (name, len(latencies), CLIENTS, elapsed, statuses, load_before,
            os.getloadavg()[0]))
    if latencies:
        lat = sorted(latencies)
        note("%s: latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; slowest "
             "connect %.1f ms" % (name, lat[len(lat) // 2] * 1e3,
                                  lat[int(len(lat) * .99)] * 1e3, lat[-1] * 1e3,
                                  max(connect_times or [0]) * 1e3))
    check(not errors, "%s: %d connections x %d requests: no connection "
          "error, no timeout" % (name, CLIENTS, per_client),
          "%d errors, first: %s" % (len(errors), errors[:3]))
    check(len(latencies) == total, "%s: all %d requests answered (%d)"
          % (name, total, len(latencies)))
    fivexx = {s: n for s, n in statuses.items() if s >= 500}
    check(not fivexx, "%s: no 5xx" % name, repr(fivexx))
    check(set(statuses) <= {200}, "%s: every reply is 200" % name,
          repr(statuses))
    control_text = ""
    if control:
        control.sort()
        control_text = ("requests nginx answered alone at the same time "
                        "(no backend): %d, p50 %.1f ms, max %.1f ms"
                        % (len(control), control[len(control) // 2] * 1e3,
                           control[-1] * 1e3))
        note("%s: %s" % (name, control_text))
    return latencies, deposited, control_text


def test_500_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    accounts = [L.create("Load %d" % i) for i in range(10)]

    # Back to back: as many requests in flight as connections.  Each
    # request then waits for the ones queued before it, so its latency
    # measures the throughput of the whole machine (this client included,
    # and whatever else runs beside the test), not stalls: no time is
    # checked here.
    _, burst, _ = run_phase("back to back", accounts, 6, 0)

    # Paced at about 500 requests per second, far below what the stack
    # serves, so that requests do not queue behind one another: a request
    # that still takes a second has been held back somewhere (a pinned
    # backend thread, a connection waiting in the backlog, a poll timeout).
    _, paced, _ = run_phase("paced", accounts, 10, 1.0)
    # Latencies are printed, never judged: this machine is shared.  A stall
    # is caught structurally by test_idle_kept_connections.
    wrong = {}
    for a in accounts:
        expect = burst[a] + paced[a]
        r = main.get("/accounts/%d" % a)
        got = r.json.get("balance") if r.json else None
        if got != expect:
            wrong[a] = (got, expect)
        L.set(a, expect)
    check(not wrong, "each account holds exactly the deposits answered 200",
          repr(wrong))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        n = len(backend_connections())
        if n <= KEEPALIVE_CACHE:
            break
        time.sleep(0.1)
    check(n <= KEEPALIVE_CACHE, "after the load the backend holds %d "
          "connections from nginx, within nginx's keep-alive caches (%d)"
          % (n, KEEPALIVE_CACHE))


def test_idle_kept_connections():
    """More idle kept FastCGI connections than the backend has threads,
    each left as nginx leaves one after a reply (FCGI_KEEP_CONN, nothing
    more sent): a backend that pins a thread to each (libfcgi's own loop)
    has none left, and the next request hangs.  Every request below must
    be answered; the socket timeout is a hang bound, not a time check."""
    threads = len(os.listdir("/proc/%d/task" % stack.backend_pid))
    idle = []
    try:
        for i in range(threads + 8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(fbtest.REQUEST_TIMEOUT)
            idle.append(s)
            s.connect(sock_path)
            s.sendall(fbfcgi.request("GET", "/healthz"))
            status, _ = fbfcgi.reply(s)
            if status != 200:
                check(False, "kept connection %d: GET /healthz is 200" % i,
                      "status %d" % status)
                return
        note("%d idle kept FastCGI connections held; the backend runs %d "
             "threads in all" % (len(idle), threads))
        r = main.get("/healthz")
        check(r.status == 200, "with %d idle kept connections, a request "
              "through nginx is answered" % len(idle), r)
        answered = 0
        for s in reversed(idle):
            try:
                s.sendall(fbfcgi.request("GET", "/healthz"))
                status, _ = fbfcgi.reply(s)
            except OSError as e:
                note("kept connection: %r" % e)
                break
            if status != 200:
                break
            answered += 1
        check(answered == len(idle), "a second request on each idle kept "
              "connection, newest first, is answered (%d of %d)"
              % (answered, len(idle)))
    finally:
        for s in idle:
            s.close()


def test_final_state():
    L.verify("the whole run")


fbtest.run(test_one_connection, test_500_connections,
           test_idle_kept_connections, test_final_state)
main.close()
rc = stack.stop()
check(rc == 0, "fb-run.sh stopped cleanly (exit status %r)" % rc)
fbtest.finish()
