"""fbtest: the harness of fastbank's integration tests.

Each test file starts its own stack (nginx in front of the real backend)
through nginx/fb-run.sh, the same script ./dev.sh serve runs, on a free
loopback port in a private temporary directory, and stops it at the end.

    import fbtest
    from fbtest import check, Client, Stack

    stack = Stack().start()
    c = Client(stack.port)
    r = c.post("/accounts", {"owner": "Alice"})
    check(r.status == 201, "create answers 201", r)
    stack.stop()
    fbtest.finish()

A check never stops the test: every failure is printed with the request and
the response, and finish() prints "N passed, M failed" and exits non-zero if
anything failed.  Something the tests need but cannot find (nginx, python3,
the backend binary) is a hard error, exit 99, never a skip.
"""

import atexit
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HARD_ERROR = 99

SRCDIR = os.path.abspath(os.environ.get("top_srcdir")
                         or os.path.join(os.path.dirname(__file__), ".."))
BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or SRCDIR)
SANITIZER = os.environ.get("FB_SANITIZER", "") not in ("", "no")

FB_RUN = os.path.join(SRCDIR, "nginx", "fb-run.sh")
BACKEND = os.path.join(BUILDDIR, "fcgi", "fastbank")

# Bound on any single request: a hang check, not a timing test.  Sanitizer
# builds are many times slower.
REQUEST_TIMEOUT = 120 if SANITIZER else 30

_passed = 0
_failed = 0
# fb-run.sh is a bash script, and bash cannot trap a signal that was
# ignored when it started.  A test run from a background job of a
# non-interactive shell (`make check &` in a script) inherits SIGINT
# ignored, and passes it on: fb-run.sh would then not stop on the SIGINT
# that test-shutdown sends it as Ctrl-C would.  The children get the
# default that a terminal gives them.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_lock = threading.Lock()


def hard_error(msg):
    print("ERROR: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(HARD_ERROR)


def find_nginx():
    nginx = os.environ.get("NGINX")
    if not nginx:
        path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin"
        nginx = shutil.which("nginx", path=path)
    if not nginx or not os.access(nginx, os.X_OK):
        hard_error("nginx not found: install the Debian package nginx")
    return nginx


def require(backend=True):
    """Fail hard (99) unless nginx, bash and (if asked) the backend exist."""
    nginx = find_nginx()
    if shutil.which("bash") is None:
        hard_error("bash not found: install the Debian package bash")
    if not os.access(FB_RUN, os.X_OK):
        hard_error("%s not found or not executable" % FB_RUN)
    if backend and not os.access(BACKEND, os.X_OK):
        hard_error("%s not found: the fastbank backend is not built "
                   "(run make, or ./dev.sh build)" % BACKEND)
    return nginx


# ---------------------------------------------------------------- checks

def _describe(detail):
    if detail is None:
        return ""
    if isinstance(detail, Response):
        return detail.describe()
    return str(detail)


def check(cond, what, detail=None):
    """Count one check; print it, with detail (a Response or text) if it
    failed.  Returns cond, so that callers can skip dependent checks."""
    global _passed, _failed
    with _lock:
        if cond:
            _passed += 1
            print("ok    %s" % what, flush=True)
        else:
            _failed += 1
            print("FAIL  %s" % what, flush=True)
            text = _describe(detail)
            if text:
                for line in text.splitlines():
                    print("      %s" % line)
            sys.stdout.flush()
    return bool(cond)


def note(text):
    print("#     %s" % text, flush=True)


def section(title):
    print("\n== %s" % title, flush=True)


def run(*funcs):
    """Run test functions in order; an exception fails that function and
    the next one runs."""
    for f in funcs:
        section(f.__name__)
        try:
            f()
        except Exception:
            check(False, "%s raised an exception" % f.__name__,
                  traceback.format_exc())


def finish():
    """Stop every stack, print the tally, exit non-zero on any failure."""
    for s in list(Stack.running):
        s.stop()
    if _passed + _failed == 0:
        print("no checks ran", flush=True)
        print("0 passed, 1 failed", flush=True)
        sys.exit(1)
    print("\n%d passed, %d failed" % (_passed, _failed), flush=True)
    sys.exit(1 if _failed else 0)


def failures():
    return _failed


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self, method, path, req_body, status, reason, headers, body):
        self.method = method
        self.path = path
        self.req_body = req_body
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body                # bytes
        self._json = None
        self._json_error = None
        self._parsed = False

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def media_type(self):
        ct = self.header("Content-Type")
        if ct is None:
            return None
        return ct.split(";")[0].strip().lower()

    @property
    def json(self):
        """The body as a JSON object, or None if it is not one."""
        if not self._parsed:
            self._parsed = True
            try:
                v = json.loads(self.body.decode("utf-8"))
                if isinstance(v, dict):
                    self._json = v
                else:
                    self._json_error = "body is JSON but not an object"
            except (UnicodeDecodeError, ValueError) as e:
                self._json_error = "body is not JSON: %s" % e
        return self._json

    def describe(self):
        req = self.req_body
        if isinstance(req, (bytes, bytearray)):
            req = bytes(req)
            if len(req) > 300:
                req = req[:300] + b"... (%d bytes)" % len(req)
        lines = ["request:  %s %s" % (self.method, self.path)]
        if req is not None:
            lines.append("          body %r" % (req,))
        lines.append("response: %s %s" % (self.status, self.reason))
        for k, v in self.headers:
            lines.append("          %s: %s" % (k, v))
        body = self.body
        if len(body) > 600:
            body = body[:600] + b"... (%d bytes)" % len(self.body)
        lines.append("          body %r" % (body,))
        return "\n".join(lines)


def encode_body(body):
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def fb_load_binary():
    """The build's loadtest/fb-load; a hard error if it is not built."""
    path = os.path.join(BUILDDIR, "loadtest", "fb-load")
    if not os.access(path, os.X_OK):
        hard_error("%s not found: run make" % path)
    return path


class StandIn:
    """A stand-in server on 127.0.0.1 for fb-load's tests: a thread accepts
    connections and hands each to serve(connection) on a thread of its
    own (TCP_NODELAY, a 0.5 s timeout so that stop() is seen; closed
    after, an OSError ending it quietly), until stop().  Subclasses set
    their own state, then call StandIn.__init__, and define serve."""

    def __init__(self):
        self.done = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.done.set()
        self.thread.join()
        self.sock.close()

    def _accept(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(0.5)
        try:
            self.serve(c)
        except OSError:
            pass
        finally:
            c.close()

    def read_request(self, c, buf):
        """Reads from c until buf holds a request's head: what follows the
        head, or None once the peer has closed or stop() was called."""
        while b"\r\n\r\n" not in buf:
            try:
                d = c.recv(4096)
            except socket.timeout:
                if self.done.is_set():
                    return None
                continue
            if not d:
                return None
            buf += d
        return buf.split(b"\r\n\r\n", 1)[1]

    def serve(self, c):
        raise NotImplementedError


class Client:
    """One keep-alive HTTP/1.1 connection to nginx (http.client).  A closed
    connection is reopened for the next request.  A connection idle for
    longer than IDLE_REOPEN is reopened before use, so that nginx's
    keepalive_timeout (75 s) never closes it under a request; a GET or HEAD
    that finds a kept connection closed anyway is sent again on a new one.
    Any other request is never sent twice."""

    IDLE_REOPEN = 30

    def __init__(self, port, source=None, timeout=None):
        self.port = port
        self.source = source
        self.timeout = timeout or REQUEST_TIMEOUT
        self.conn = None
        self.connects = 0
        self.fresh = False
        self.last_used = 0.0

    def _connection(self):
        if self.conn is not None \
                and time.monotonic() - self.last_used > self.IDLE_REOPEN:
            self.close()
        if self.conn is None:
            src = (self.source, 0) if self.source else None
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout,
                source_address=src)
            self.conn.connect()
            self.connects += 1
            self.fresh = True
        return self.conn

    def request(self, method, path, body=None, headers=None, chunks=None):
        """chunks: a list of byte strings sent with Transfer-Encoding:
        chunked instead of body."""
        data = encode_body(body)
        hdrs = dict(headers or {})
        for attempt in (1, 2):
            conn = self._connection()
            reused = not self.fresh
            self.fresh = False
            try:
                if chunks is not None:
                    data = b"".join(chunks)
                    hdrs["Transfer-Encoding"] = "chunked"
                    conn.request(method, path, body=iter(chunks), headers=hdrs,
                                 encode_chunked=True)
                else:
                    conn.request(method, path, body=data, headers=hdrs)
                r = conn.getresponse()
                payload = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                self.close()
                if attempt == 1 and reused and method in ("GET", "HEAD"):
                    continue
                raise
            except Exception:
                self.close()
                raise
        self.last_used = time.monotonic()
        resp = Response(method, path, data, r.status, r.reason,
                        r.getheaders(), payload)
        if r.will_close:
            self.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def raw_request(port, data, timeout=None, source=None):
    """Send raw bytes on a new connection, read until the server closes it
    (or the timeout).  Returns the bytes received."""
    s = socket.create_connection(("127.0.0.1", port),
                                 timeout=timeout or REQUEST_TIMEOUT,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def parse_raw_response(data, method="GET", path="?"):
    """Parse the first HTTP response in data into a Response."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0]) if lines else None
    if not sep or not m:
        return Response(method, path, None, 0, "unparsable", [], data)
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    r = Response(method, path, None, int(m.group(1)), m.group(2), headers, b"")
    cl = r.header("Content-Length")
    if cl is not None:
        r.body = rest[:int(cl)]
    elif (r.header("Transfer-Encoding") or "").lower() == "chunked":
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2:]
        r.body = body
    else:
        r.body = rest
    return r


# ---------------------------------------------------------------- checks on replies

def is_int(v):
    return type(v) is int


def check_json(r, status, what):
    """The reply has this status, Content-Type: application/json and a JSON
    object body.  Returns the object (or None)."""
    ok = check(r.status == status and r.media_type == "application/json"
               and r.json is not None,
               "%s: %d, application/json, a JSON object" % (what, status), r)
    return r.json if ok else None


def check_error(r, status, codes, what):
    """The reply is the contract's error: this status, Content-Type:
    application/json, {"code": one of codes, "message": non-empty text}."""
    if isinstance(codes, str):
        codes = (codes,)
    obj = r.json
    ok = (r.status == status and r.media_type == "application/json"
          and obj is not None and obj.get("code") in codes
          and isinstance(obj.get("message"), str) and obj["message"] != "")
    check(ok, "%s: %d %s" % (what, status, "/".join(codes)), r)
    return ok


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect_listening(path, bound, timeout=None):
    """A connection to the unix socket at path once a server listens on
    it.  A server's bind() makes the name before its listen(): until then
    connect() is refused (ECONNREFUSED), and before the bind the name is
    missing.  Both are retried for up to bound seconds."""
    deadline = time.monotonic() + bound
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(bound if timeout is None else timeout)
        try:
            s.connect(path)
            return s
        except (ConnectionRefusedError, FileNotFoundError):
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == str(pid):
            out.append(int(d))
    return out


def require_strace():
    """strace's path, for Traced; fail hard (99) without it or the
    backend."""
    strace = shutil.which("strace", path=os.environ.get("PATH", "")
                          + ":/usr/bin:/bin")
    if strace is None:
        hard_error("strace not found: install the Debian package strace")
    if not os.access(BACKEND, os.X_OK):
        hard_error("%s not found: the fastbank backend is not built"
                   % BACKEND)
    return strace


class Traced:
    """The backend alone (no nginx) under strace, which injects errors or
    delays into its system calls: started at once in its own session,
    its output to log_path, strace's to trace.  LeakSanitizer cannot run under ptrace, so
    the address sanitizer build runs it without (the runtime's other
    checks stay on; every other test checks leaks)."""

    def __init__(self, strace, strace_args, backend_args, log_path,
                 trace="/dev/null"):
        self.log_path = log_path
        cmd = (["timeout", "-k", "10", "600", strace, "-f", "-qq",
                "-o", trace] + strace_args + [BACKEND] + backend_args)
        note(" ".join(cmd))
        env = dict(os.environ)
        if SANITIZER:
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "")
                                   + ":detect_leaks=0").lstrip(":")
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         start_new_session=True, env=env)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def pid(self):
        """fastbank's pid, under timeout and strace, or None."""
        todo = [self.proc.pid]
        while todo:
            p = todo.pop()
            try:
                if os.path.basename(os.readlink("/proc/%d/exe" % p)) == \
                        "fastbank":
                    return p
            except OSError:
                pass
            todo.extend(children_of(p))
        return None

    def stop(self, timeout):
        """SIGTERM to fastbank; its exit status (SIGKILL after timeout)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            note("backend did not stop: SIGKILL")
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


def wait_stopped(pid, seconds):
    """True once every thread of pid is stopped (state T).  kill(SIGSTOP)
    returns before that: the thread that takes the signal must run first,
    and the others stop when it has told them, each at its next return
    from the kernel; meanwhile they keep serving."""
    deadline = time.monotonic() + seconds
    while True:
        states = []
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            return False
        if states and all(st == "T" for st in states):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def wait_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return not any(pid_alive(p) for p in pids)


# ---------------------------------------------------------------- the stack

class StackError(Exception):
    pass


class Stack:
    """nginx + the backend, started by nginx/fb-run.sh."""

    running = []

    def __init__(self, threads=None, limit_req=False, body_limit_nginx=None,
                 extra=(), lifetime=None, name="stack"):
        self.threads = threads
        self.limit_req = limit_req
        self.body_limit_nginx = body_limit_nginx
        self.extra = list(extra)
        # A safety net: fb-run.sh stops everything by itself at the end.
        self.lifetime = lifetime or (1800 if SANITIZER else 600)
        self.name = name
        self.proc = None
        self.dir = None
        self.port = None
        self.nginx_pid = None
        self.backend_pid = None
        self.workers = []
        self.log_path = None
        self.returncode = None

    def command(self):
        cmd = ["bash", FB_RUN, "--build", BUILDDIR, "--dir", self.dir,
               "--port", str(self.port), "--lifetime", str(self.lifetime)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if self.limit_req:
            cmd += ["--limit-req"]
        if self.body_limit_nginx:
            cmd += ["--body-limit-nginx", self.body_limit_nginx]
        if self.extra:
            cmd += ["--"] + self.extra
        return cmd

    def start(self):
        require()
        for attempt in range(3):
            self.dir = tempfile.mkdtemp(prefix="fb-%s-" % self.name)
            self.port = free_port()
            self.log_path = os.path.join(self.dir, "fb-run.log")
            log = open(self.log_path, "w")
            cmd = self.command()
            note("starting: %s" % " ".join(cmd))
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                         stderr=log, stdin=subprocess.DEVNULL,
                                         text=True)
            log.close()
            Stack.running.append(self)
            line = self._read_ready(timeout=120)
            m = re.match(r"fastbank serving on http://127\.0\.0\.1:(\d+) "
                         r"\(nginx pid (\d+), backend pid (\d+)\)$",
                         line or "")
            if m:
                self.nginx_pid = int(m.group(2))
                self.backend_pid = int(m.group(3))
                self.workers = children_of(self.nginx_pid)
                self._check_no_conffile()
                note("%s: port %d, nginx pid %d, backend pid %d, dir %s"
                     % (self.name, self.port, self.nginx_pid,
                        self.backend_pid, self.dir))
                return self
            self.stop(quiet=True)
            log_text = self.log()
            if "Address already in use" in log_text and attempt < 2:
                note("port %d was taken; trying another" % self.port)
                continue
            raise StackError("fb-run.sh did not start (printed %r):\n%s"
                             % (line, log_text))
        raise StackError("no free port")

    def _check_no_conffile(self):
        """The backend must run with this stack's options only: without
        --config it reads $(sysconfdir)/fastbank/fastbank.conf, which on
        a machine with fastbank installed (and a build configured with
        --sysconfdir=/etc, as the Debian package's is) is the installed
        one."""
        try:
            with open("/proc/%d/cmdline" % self.backend_pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError as e:
            self.stop(quiet=True)
            raise StackError("backend pid %d: %s" % (self.backend_pid, e))
        last = None
        for i, a in enumerate(args[:-1]):
            if a == b"--config":
                last = args[i + 1]
            elif a.startswith(b"--config="):
                last = a[len(b"--config="):]
        if last != b"/dev/null":
            self.stop(quiet=True)
            raise StackError("the backend reads a configuration file (its "
                             "last --config is %r, not /dev/null): %r"
                             % (last, args))

    def _read_ready(self, timeout):
        q = queue.Queue()

        def reader():
            for line in self.proc.stdout:
                q.put(line.rstrip("\n"))
                return
            q.put(None)

        threading.Thread(target=reader, daemon=True).start()
        try:
            return q.get(timeout=timeout)
        except queue.Empty:
            return None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def read_pidfile(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return int(f.read().strip())

    def all_pids(self):
        pids = [p for p in (self.nginx_pid, self.backend_pid) if p]
        return pids + self.workers

    def stop(self, quiet=False, sig=signal.SIGTERM, keep_dir=False):
        """Stop fb-run.sh (SIGTERM) and wait for it; returns its exit
        status.  Falls back to SIGKILL by pid if it does not stop."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            self.returncode = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            note("fb-run.sh (pid %d) did not stop in 60 s: SIGKILL"
                 % self.proc.pid)
            self.proc.kill()
            self.returncode = self.proc.wait()
        for p in self.all_pids():
            if pid_alive(p):
                note("pid %d still running after fb-run.sh exited: SIGKILL" % p)
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.stdout:
            self.proc.stdout.close()
        reports = [line for line in self.log().splitlines()
                   if re.search(r"Sanitizer|runtime error:", line)]
        check(not reports, "%s: no sanitizer report in the backend's output"
              % self.name, "\n".join(reports[:20]))
        self.proc = None
        if self in Stack.running:
            Stack.running.remove(self)
        if not quiet and _failed:
            tail = self.log().splitlines()[-40:]
            if tail:
                note("%s: last lines of fb-run.sh's output:" % self.name)
                for line in tail:
                    print("      | %s" % line)
        if not keep_dir and self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.returncode

    def client(self, **kw):
        return Client(self.port, **kw)


def _cleanup():
    for s in list(Stack.running):
        try:
            s.stop(quiet=True)
        except Exception:
            pass


atexit.register(_cleanup)


def _on_signal(signum, frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


# ---------------------------------------------------------------- the ledger

class Ledger:
    """What the test knows the accounts hold, to check after every refused
    request that nothing changed: every known account's owner and balance,
    and that no account was created (ids are handed out in order, so the
    account after the last known one must not exist)."""

    def __init__(self, client):
        self.c = client
        self.accounts = {}      # id -> [owner, balance]
        self.last_id = 0

    def create(self, owner):
        r = self.c.post("/accounts", {"owner": owner})
        obj = check_json(r, 201, "create %r" % owner)
        if obj is None:
            raise AssertionError("cannot create account %r" % owner)
        self.accounts[obj["id"]] = [obj["owner"], 0]
        self.last_id = max(self.last_id, obj["id"])
        return obj["id"]

    def created(self, aid, owner):
        self.accounts[aid] = [owner, 0]
        self.last_id = max(self.last_id, aid)

    def set(self, aid, balance):
        self.accounts[aid][1] = balance

    def balance(self, aid):
        return self.accounts[aid][1]

    def deposit(self, aid, amount):
        r = self.c.post("/accounts/%d/deposit" % aid, {"amount": amount})
        obj = check_json(r, 200, "deposit %d into %d" % (amount, aid))
        if obj is None:
            raise AssertionError("deposit failed")
        self.accounts[aid][1] += amount
        check(obj.get("balance") == self.accounts[aid][1],
              "deposit reply balance is %d" % self.accounts[aid][1], r)

    def differences(self):
        diffs = []
        for aid, (owner, balance) in sorted(self.accounts.items()):
            r = self.c.get("/accounts/%d" % aid)
            obj = r.json
            if r.status != 200 or obj is None:
                diffs.append("GET /accounts/%d: %d %r" % (aid, r.status, r.body))
            elif obj.get("owner") != owner or obj.get("balance") != balance:
                diffs.append("account %d: expected owner %r balance %d, got %r"
                             % (aid, owner, balance, obj))
        nxt = self.last_id + 1
        r = self.c.get("/accounts/%d" % nxt)
        if r.status != 404:
            diffs.append("account %d exists (%d %r): an account was created"
                         % (nxt, r.status, r.body))
        return diffs

    def verify(self, what):
        d = self.differences()
        return check(not d, "nothing changed after %s" % what, "\n".join(d))
