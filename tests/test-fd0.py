#!/usr/bin/env python3
"""test-fd0: fastbank activated on fd 0, as spawn-fcgi and systemd
(StandardInput=socket) start it, behind a real nginx.

The test does what the activator does: it creates the listening unix
socket itself (mode 0660), starts `fastbank --listen fd:0` with that
socket as standard input and closes its own copy.  nginx runs with the
configuration nginx/fb-run.sh generates from the shipped files
(fb-run.sh --config-only), so that its upstream is this socket.

1. Requests through nginx are served; the options come from a
   configuration file (--config) and a flag overrides one of them
   (max-accounts: 2 in the file, 3 on the command line, so the fourth
   account is refused with 503); SIGTERM stops fastbank with status 0 and
   it leaves the socket it did not create in place (the activator owns it:
   systemd's RemoveOnStop=), and a snapshot of what it held.
2. The same run under strace: every system call fastbank makes, from
   execve on, is allowed by fastbank.service's SystemCallFilter
   (@system-service minus @privileged, expanded by systemd-analyze), it
   creates no socket of a family other than AF_UNIX
   (RestrictAddressFamilies=AF_UNIX), maps no memory writable and
   executable (MemoryDenyWriteExecute=yes) and opens no file for writing
   (ProtectSystem=strict); under --fsync always each acknowledged change
   had its own fdatasync().  Not run in a sanitizer build, whose runtime
   makes calls the shipped binary does not (said so in the output; no
   check is counted for it).
3. Start-up refusals from the real binary: a missing --config file, a bad
   line in one (named with its line number), fd 0 that is not a socket;
   and the exit status of the runs that serve nothing: --version 0,
   --check its verdict.

Needs nginx, strace (Debian package strace) and systemd-analyze (systemd);
a missing one is a hard error, never a skip.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import (BACKEND, FB_RUN, SANITIZER, Client, check,  # noqa: E402
                    check_error, check_json, children_of, note, pid_alive,
                    wait_gone)

HANG_BOUND = 10     # seconds a process may take to stop
# timeout(1) wraps every process started here: a safety net, should this
# script die without stopping them.
SAFETY = ["timeout", "-k", "10", "1800" if SANITIZER else "600"]


def find_tool(name, package):
    path = shutil.which(name, path=os.environ.get("PATH", "")
                        + ":/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        fbtest.hard_error("%s not found: install the Debian package %s"
                          % (name, package))
    return path


class Activated:
    """A listening unix socket made here, fastbank on its fd 0, nginx."""

    def __init__(self, name, conf_text, args, wrapper=()):
        self.dir = tempfile.mkdtemp(prefix="fb-%s-" % name)
        self.name = name
        self.port = fbtest.free_port()
        self.sock_path = os.path.join(self.dir, "fastbank.sock")
        self.conf = os.path.join(self.dir, "fastbank.conf")
        # The unit's StateDirectory: the one place fastbank may write.
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "backend.log")
        self.nginx_log = os.path.join(self.dir, "nginx.log")
        self.backend = None
        self.nginx = None
        self.backend_pid = None
        with open(self.conf, "w") as f:
            f.write(conf_text)

        out = subprocess.run(
            ["bash", FB_RUN, "--config-only", "--dir", self.dir,
             "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if out.returncode != 0:
            raise RuntimeError("fb-run.sh --config-only: %s" % out.stdout)
        self.nginx_conf = out.stdout.strip().splitlines()[-1]

        # What spawn-fcgi -s PATH -M 0660 does before it execs the backend.
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(self.sock_path)
        os.chmod(self.sock_path, 0o660)
        lsock.listen(128)

        cmd = SAFETY + list(wrapper) + [BACKEND, "--listen", "fd:0",
                                        "--config", self.conf,
                                        "--data-dir", self.data_dir] + list(args)
        note("%s: %s" % (name, " ".join(cmd)))
        log = open(self.log_path, "w")
        self.backend = subprocess.Popen(cmd, stdin=lsock.fileno(),
                                        stdout=log, stderr=log,
                                        start_new_session=True)
        log.close()
        lsock.close()   # the backend holds the only copy now
        self.backend_pid = self.backend.pid

        log = open(self.nginx_log, "w")
        self.nginx = subprocess.Popen(
            SAFETY + [fbtest.find_nginx(), "-p", self.dir + "/", "-c",
                      self.nginx_conf, "-e", "stderr"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
        log.close()

    def pid_of(self, proc, exe):
        """The pid of the process running exe under proc (timeout, and
        strace when wrapped), or None."""
        todo = [proc.pid]
        while todo:
            p = todo.pop()
            try:
                if os.path.basename(os.readlink("/proc/%d/exe" % p)) == exe:
                    return p
            except OSError:
                pass
            todo.extend(children_of(p))
        return None

    def wait_ready(self):
        deadline = time.monotonic() + (120 if SANITIZER else 30)
        while time.monotonic() < deadline:
            if self.backend.poll() is not None or self.nginx.poll() is not None:
                return False
            try:
                r = Client(self.port, timeout=5).get("/healthz")
                if r.status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop_nginx(self):
        if self.nginx is None:
            return
        master = self.pid_of(self.nginx, "nginx")
        workers = children_of(master) if master else []
        if self.nginx.poll() is None and master is not None:
            os.kill(master, signal.SIGQUIT)
        try:
            self.nginx.wait(timeout=HANG_BOUND)
        except subprocess.TimeoutExpired:
            note("nginx (pid %d) did not stop: SIGKILL" % self.nginx.pid)
            self.nginx.kill()
            self.nginx.wait()
        for w in workers:
            if pid_alive(w):
                os.kill(w, signal.SIGKILL)
        self.nginx = None

    def stop_backend(self):
        """SIGTERM to fastbank itself (under timeout, and strace when
        wrapped); returns the exit status of the process we started,
        which timeout and strace pass on."""
        if self.backend is None:
            return None
        pid = self.pid_of(self.backend, "fastbank")
        if self.backend.poll() is None and pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            rc = self.backend.wait(timeout=HANG_BOUND * (6 if SANITIZER else 1))
        except subprocess.TimeoutExpired:
            note("backend (pid %d) did not stop: SIGKILL" % self.backend.pid)
            self.backend.kill()
            rc = self.backend.wait()
            rc = "killed after %d s" % HANG_BOUND
        self.backend = None
        return rc

    def backend_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def cleanup(self):
        self.stop_nginx()
        self.stop_backend()
        shutil.rmtree(self.dir, ignore_errors=True)


def exercise(a):
    """Requests through nginx; max-accounts is 3 (flag) over 2 (file)."""
    c = Client(a.port)
    check_json(c.get("/healthz"), 200, "GET /healthz through nginx")
    ids = []
    for owner in ("Alice", "Bob", "Carol"):
        obj = check_json(c.post("/accounts", {"owner": owner}), 201,
                         "create %s" % owner)
        if obj:
            ids.append(obj["id"])
    check(ids == [1, 2, 3], "three accounts created: ids %r" % ids)
    r = c.post("/accounts", {"owner": "Dave"})
    check_error(r, 503, "SERVICE_UNAVAILABLE",
                "a fourth account (--max-accounts 3 wins over the file's 2)")
    check(r.json is not None
          and r.json.get("message") == "no more accounts can be created",
          "the refusal says why", r)
    obj = check_json(c.post("/accounts/1/deposit", {"amount": 25000}), 200,
                     "deposit")
    check(obj is not None and obj.get("balance") == 25000,
          "deposit: balance 25000", obj)
    obj = check_json(c.post("/accounts/transfer",
                            {"from": 1, "to": 2, "amount": 5000}), 200,
                     "transfer")
    check(obj is not None and obj.get("from_balance") == 20000
          and obj.get("to_balance") == 5000, "transfer: balances", obj)
    r = c.get("/metrics")
    check(r.status == 200 and b"http_requests_total" in r.body,
          "GET /metrics through nginx", r)
    c.close()


def test_fd0():
    a = Activated("fd0", "# written by test-fd0\nthreads = 2\n"
                  "max-accounts = 2   # the flag says 3\n",
                  ["--max-accounts", "3"])
    try:
        if not check(a.wait_ready(), "nginx and fastbank (fd 0) answer "
                     "/healthz", a.backend_log()):
            return
        exercise(a)
        # fastbank(8), SIGNALS: no reload; SIGHUP and SIGUSR1 change nothing.
        pid = a.pid_of(a.backend, "fastbank")
        for sig in (signal.SIGHUP, signal.SIGUSR1):
            if pid is not None:
                os.kill(pid, sig)
        time.sleep(0.2)
        r = Client(a.port, timeout=5).get("/healthz")
        check(pid is not None and pid_alive(pid) and r.status == 200,
              "SIGHUP and SIGUSR1 are ignored: fastbank goes on serving "
              "(pid %r, /healthz %r)" % (pid, r.status), a.backend_log())
        a.stop_nginx()
        rc = a.stop_backend()
        check(rc == 0, "SIGTERM: fastbank exits 0 (got %r)" % rc,
              a.backend_log())
        check(os.path.exists(a.sock_path),
              "fastbank left the socket it did not create in place")
        # doc/journal.txt: a snapshot once more at an orderly stop.
        snaps = [n for n in os.listdir(a.data_dir)
                 if re.match(r"snapshot-\d{20}\.dat$", n)]
        check(len(snaps) == 1, "the orderly stop left a snapshot",
              " ".join(sorted(os.listdir(a.data_dir))))
        log = a.backend_log()
        check(not re.search(r"Sanitizer|runtime error:", log),
              "no sanitizer report", log)
    finally:
        a.cleanup()


# ------------------------------------------------------------ strace

def filter_sets(analyze):
    """Group name -> set of names, from systemd-analyze syscall-filter."""
    out = subprocess.run([analyze, "syscall-filter"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, check=True)
    groups, cur = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.strip(), set())
        elif cur is not None and line.startswith("    ") \
                and not line.strip().startswith("#"):
            cur.add(line.strip())
        elif not line.strip():
            cur = None
    return groups


def expand(groups, name, seen=None):
    seen = seen if seen is not None else set()
    out = set()
    for item in groups.get(name, ()):
        if item.startswith("@"):
            if item not in seen:
                seen.add(item)
                out |= expand(groups, item, seen)
        else:
            out.add(item)
    return out


def unit_filter():
    """The allowed set fastbank.service's SystemCallFilter= lines make."""
    unit = os.path.join(fbtest.BUILDDIR, "systemd", "fastbank.service")
    allow, deny = [], []
    with open(unit) as f:
        for line in f:
            m = re.match(r"SystemCallFilter=(~?)(.*)", line.strip())
            if m:
                (deny if m.group(1) else allow).extend(m.group(2).split())
    return allow, deny


def segment_writes(lines):
    """(record writes, writes not synced before the next) on the journal's
    segments in an strace -f trace.  A segment's descriptor is the one an
    openat() of journal-*.log returned (on its line, or on the line that
    resumes it); its header write (16 bytes) is not a record."""
    seg_fds, pending, records, unsynced = set(), {}, 0, []
    opening = {}       # tid -> 1 while its openat of a segment is unfinished
    for line in lines:
        m = re.match(r"(\d+)\s+(.*)", line)
        if not m:
            continue
        tid, rest = m.groups()
        r = re.search(r"= (\d+)$", rest)
        if re.match(r"openat\(.*/journal-\d+\.log\"", rest):
            if r:
                seg_fds.add(int(r.group(1)))
            else:
                opening[tid] = 1
            continue
        if rest.startswith("<... openat resumed>") and opening.pop(tid, 0):
            if r:
                seg_fds.add(int(r.group(1)))
            continue
        w = re.match(r"write\((\d+), .*, (\d+)(?:\)| <unfinished)", rest)
        if w and int(w.group(1)) in seg_fds and int(w.group(2)) != 16:
            fd = int(w.group(1))
            if pending.get(fd):
                unsynced.append(fd)
            pending[fd] = 1
            records += 1
            continue
        f = re.match(r"fdatasync\((\d+)", rest)
        if f:
            pending[int(f.group(1))] = 0
        c = re.match(r"close\((\d+)", rest)
        if c and int(c.group(1)) in seg_fds:
            if pending.get(int(c.group(1))):
                unsynced.append(int(c.group(1)))
            seg_fds.discard(int(c.group(1)))
            pending.pop(int(c.group(1)), None)
    return records, unsynced


def test_strace():
    if SANITIZER:
        note("not run in a sanitizer build: its runtime makes system calls "
             "the shipped binary does not; no check counted")
        return
    strace = find_tool("strace", "strace")
    analyze = find_tool("systemd-analyze", "systemd")

    allow_names, deny_names = unit_filter()
    check(allow_names == ["@system-service"] and deny_names == ["@privileged"],
          "fastbank.service filters @system-service minus @privileged "
          "(got %r minus %r)" % (allow_names, deny_names))
    groups = filter_sets(analyze)
    allowed = set()
    for g in allow_names:
        allowed |= expand(groups, g) if g.startswith("@") else {g}
    for g in deny_names:
        allowed -= expand(groups, g) if g.startswith("@") else {g}
    check(len(allowed) > 200 and "epoll_wait" in allowed
          and "setuid" not in allowed,
          "the expanded filter is plausible (%d calls)" % len(allowed))

    fd, trace = tempfile.mkstemp(prefix="fb-strace-", suffix=".txt")
    os.close(fd)
    a = Activated("strace", "threads = 2\nmax-accounts = 2\n",
                  ["--max-accounts", "3"],
                  wrapper=[strace, "-f", "-qq", "-o", trace])
    try:
        if not check(a.wait_ready(), "under strace: nginx and fastbank "
                     "answer /healthz", a.backend_log()):
            return
        exercise(a)
        a.stop_nginx()
        pid = a.pid_of(a.backend, "fastbank")
        check(pid is not None, "fastbank runs under strace (pid %r)" % pid)
        rc = a.stop_backend()
        check(rc == 0, "under strace: SIGTERM, fastbank exits 0 (got %r)"
              % rc, a.backend_log())
        if pid is not None:
            wait_gone([pid], HANG_BOUND)
    finally:
        a.cleanup()

    data_dir = a.data_dir
    with open(trace, errors="replace") as f:
        lines = f.read().splitlines()
    os.unlink(trace)

    calls = {}
    for line in lines:
        m = re.match(r"\d+\s+([a-z0-9_]+)\((.*)", line)
        if m:
            calls.setdefault(m.group(1), []).append(m.group(2))
    note("fastbank made %d distinct system calls: %s"
         % (len(calls), " ".join(sorted(calls))))
    check("accept4" in calls or "accept" in calls,
          "the trace covers the serving (accept seen)")
    # --fsync always: the five acknowledged changes, one after another,
    # each waited for its own fdatasync(): on every segment, each record
    # write() is followed by an fdatasync() before the next write().
    records, unsynced = segment_writes(lines)
    check(records >= 5 and not unsynced,
          "each of the %d record writes was fdatasync()ed before the next "
          "(at least 5: one per change)" % records,
          "written, not synced before the next: %s" % unsynced)
    outside = sorted(set(calls) - allowed)
    check(not outside, "every system call is in the unit's SystemCallFilter",
          "outside: %s" % " ".join(outside))

    fams = [a_ for a_ in calls.get("socket", []) + calls.get("socketpair", [])
            if not a_.startswith("AF_UNIX")]
    check(not fams, "no socket but AF_UNIX (RestrictAddressFamilies)",
          "\n".join(fams))

    wx = [x for x in calls.get("mmap", []) if "PROT_WRITE|PROT_EXEC" in x
          or "PROT_EXEC|PROT_WRITE" in x]
    wx += [x for x in calls.get("mprotect", []) + calls.get("pkey_mprotect", [])
           if "PROT_EXEC" in x]
    check(not wx, "no writable and executable mapping "
          "(MemoryDenyWriteExecute)", "\n".join(wx))

    writes = [x for x in calls.get("openat", []) + calls.get("open", [])
              if re.search(r"O_WRONLY|O_RDWR|O_CREAT", x)
              and '"%s/' % data_dir not in x]
    check(not writes, "no file opened for writing outside the data "
          "directory (ProtectSystem=strict, ReadWritePaths)",
          "\n".join(writes))


# ------------------------------------------------------------ refusals

def run_backend(args, stdin=subprocess.DEVNULL):
    p = subprocess.run(SAFETY + [BACKEND] + args, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True,
                       timeout=HANG_BOUND * 6)
    return p.returncode, p.stdout


def test_refusals():
    d = tempfile.mkdtemp(prefix="fb-refuse-")
    try:
        missing = os.path.join(d, "missing.conf")
        rc, out = run_backend(["--config", missing])
        check(rc == 2 and missing in out and "No such file" in out,
              "a missing --config file: exit 2, named", "exit %d: %s"
              % (rc, out))

        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write("# fastbank\nthreads = 4\nthreds = 5\n")
        rc, out = run_backend(["--config", bad, "--listen", "fd:0"])
        check(rc == 2 and ("%s:3: unknown key \"threds\"" % bad) in out,
              "an unknown key: exit 2, file and line 3 named",
              "exit %d: %s" % (rc, out))

        with open(bad, "w") as f:
            f.write("threads = 4\nlog-level = loud\n")
        rc, out = run_backend(["--config", bad])
        check(rc == 2 and ("%s:2: --log-level \"loud\"" % bad) in out,
              "a bad value: exit 2, file, line 2 and option named",
              "exit %d: %s" % (rc, out))

        # A regular file on fd 0 is no listening socket.
        rc, out = run_backend(["--config", "/dev/null", "--listen", "fd:0",
                               "--data-dir", os.path.join(d, "data")],
                              stdin=open(bad))
        check(rc == 1 and "not a listening socket" in out,
              "fd 0 not a socket: exit 1, said", "exit %d: %s" % (rc, out))

        rc, out = run_backend(["--version"])
        check(rc == 0 and out.startswith("fastbank "),
              "--version: exit 0", "exit %d: %s" % (rc, out))

        # --check's verdict is its exit status: 4, the directory unread.
        missing = os.path.join(d, "no-data")
        rc, out = run_backend(["--check", missing])
        check(rc == 4 and missing in out,
              "--check of a missing directory: exit 4, named",
              "exit %d: %s" % (rc, out))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    fbtest.require()
    fbtest.run(test_fd0, test_strace, test_refusals)
    fbtest.finish()
