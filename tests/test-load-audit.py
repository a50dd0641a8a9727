#!/usr/bin/env python3
"""test-load-audit: fb-load's money audit, which every benchmark relies on.

- Against the real stack (nginx and the backend): a short seed-mix run
  passes the audit with every outcome known, and fb-load exits 0.
- Against stand-in banks in this file, over plain HTTP on loopback, that
  leave some operations without a reply (fb-load times them out: their
  fate is unknown to it):
  - a bank that applies each of them fully: pass-uncertain, exit 0;
  - one whose unanswered transfers debit the payer and never credit the
    payee, and whose unanswered withdrawals change nothing (money
    destroyed, the total still in the range the unknown withdrawals
    allow): fail, exit 1;
  - one that credits the payee only after the first round of balance
    reads (the change lands while the audit reads): fb-load reads again
    and passes;
  - one that answers 503 to operations it applied (as after a journal
    failure): pass-uncertain, exit 0;
  - one that leaves so many unanswered that no set of them can be picked
    out: unverified, exit 1;
  - one that answers 200 to a deposit it never makes: fail, exit 1;
  - one that lets withdrawals overdraw (every answer true, every account
    as booked, some below zero): fail, exit 1;
  - one that answers 400 INSUFFICIENT_FUNDS to withdrawals it makes (a
    failed request must change nothing): fail, exit 1;
  - an honest one whose balance reads are slow, with fb-load stopped by
    one SIGINT in the measured run: the audit still reads every balance
    and passes, exit 0.
"""

import http.server
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import Stack, check, note  # noqa: E402

FB_LOAD = fbtest.fb_load_binary()

# Unanswered requests time out on the client after this long (and so
# would any answer slower than that, in set-up and in the audit's reads
# too); the bank holds them until the run is over.
TIMEOUT = "5" if fbtest.SANITIZER else "2"
ACCOUNTS = 40


class Bank:
    """An in-memory bank that speaks the contract's routes.  mode: honest,
    half (an unanswered transfer debits only), late (an unanswered
    transfer credits its payee when the audit's first round of reads
    reaches its last account), liar (every 10th deposit answers 200 and
    changes nothing), busy (an operation is applied and answered 503,
    as after a journal failure), many (as honest, but so many go
    unanswered that no set of them can be picked out), slowread (every
    operation answered, each GET /accounts/{id} 20 ms late), overdraft
    (withdrawals and transfers never refused, whatever the balance) or
    refusing (every 10th withdrawal made and answered 400).  Some operations
    of the measured mix (amounts under 1,000,000: the funding deposits
    are exactly 1,000,000) are never answered (503 for busy): every
    STALL[mode][kind]-th of each kind."""

    STALL = {"honest": {"deposit": 150, "withdraw": 150, "transfer": 150},
             "half": {"deposit": 0, "withdraw": 60, "transfer": 60},
             "late": {"deposit": 0, "withdraw": 0, "transfer": 100},
             "liar": {"deposit": 150, "withdraw": 150, "transfer": 150},
             "busy": {"deposit": 100, "withdraw": 100, "transfer": 100},
             "many": {"deposit": 0, "withdraw": 0, "transfer": 7},
             "slowread": {"deposit": 0, "withdraw": 0, "transfer": 0},
             "overdraft": {"deposit": 0, "withdraw": 0, "transfer": 0},
             "refusing": {"deposit": 0, "withdraw": 0, "transfer": 0}}

    def __init__(self, mode):
        self.mode = mode
        self.lock = threading.Lock()
        self.balance = {}
        self.mutations = 0
        self.count = {"deposit": 0, "withdraw": 0, "transfer": 0}
        self.stalled = 0
        self.reads = 0
        self.pending = []          # late credits: (account, amount)
        self.done = threading.Event()
        bank = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes: without this,
                # Nagle and the client's delayed ACK hold each reply.
                self.connection.setsockopt(socket.IPPROTO_TCP,
                                           socket.TCP_NODELAY, 1)

            def do_GET(self):
                bank.serve(self, "GET", None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                bank.serve(self, "POST", json.loads(self.rfile.read(n)))

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.done.set()
        self.server.shutdown()
        self.server.server_close()

    def reply(self, h, status, obj):
        body = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def serve(self, h, method, body):
        path = h.path
        stall = False
        with self.lock:
            m = re.fullmatch(r"/accounts/(\d+)(/balance)?", path)
            if method == "GET" and m:
                aid = int(m.group(1))
                if not m.group(2):
                    self.reads += 1
                    stall = self.mode == "slowread"
                    if self.reads == ACCOUNTS:
                        for aid2, amount in self.pending:
                            self.balance[aid2] += amount
                        self.pending = []
                status, obj = 200, {"id": aid, "owner": "x",
                                    "balance": self.balance[aid]}
            elif method == "POST" and path == "/accounts":
                aid = len(self.balance) + 1
                self.balance[aid] = 0
                status, obj = 201, {"id": aid, "owner": body["owner"],
                                    "balance": 0}
            else:
                status, obj, stall = self.mutate(path, body)
        if stall and self.mode == "busy":
            status, obj = 503, {"code": "SERVICE_UNAVAILABLE",
                                "message": "the journal failed"}
        elif stall and self.mode == "slowread":
            time.sleep(0.02)
        elif stall:
            self.done.wait(600)
            h.close_connection = True
            return
        self.reply(h, status, obj)

    def mutate(self, path, body):
        """Called with the lock held.  Returns (status, reply, stall)."""
        amount = body["amount"]
        measured = amount < 1000000
        m = re.fullmatch(r"/accounts/(\d+)/(deposit|withdraw)", path)
        kind = m.group(2) if m else "transfer"
        stall = False
        if measured:
            self.mutations += 1
            self.count[kind] += 1
            every = self.STALL[self.mode][kind]
            stall = every > 0 and self.count[kind] % every == 0
        if m and stall and self.mode == "half":
            # Not applied: a fate as possible as applied.  The unapplied
            # withdrawals make room in the total for the money the half
            # transfers destroy, so a check of the total alone passes.
            self.stalled += 1
            return 200, {}, True
        if m:
            aid = int(m.group(1))
            if m.group(2) == "deposit":
                lie = (self.mode == "liar" and measured
                       and self.mutations % 10 == 3)
                if not lie:
                    self.balance[aid] += amount
            else:
                if self.balance[aid] < amount and self.mode != "overdraft":
                    return 400, {"code": "INSUFFICIENT_FUNDS",
                                 "message": "insufficient funds"}, stall
                self.balance[aid] -= amount
                if (self.mode == "refusing" and measured
                        and self.count[kind] % 10 == 0):
                    return 400, {"code": "INSUFFICIENT_FUNDS",
                                 "message": "insufficient funds"}, stall
            self.stalled += stall
            return 200, {"id": aid, "balance": self.balance[aid]}, stall
        frm, to = body["from"], body["to"]
        if self.balance[frm] < amount and self.mode != "overdraft":
            return 400, {"code": "INSUFFICIENT_FUNDS",
                         "message": "insufficient funds"}, stall
        self.balance[frm] -= amount
        if stall and self.mode == "half":
            pass
        elif stall and self.mode == "late":
            self.pending.append((to, amount))
        else:
            self.balance[to] += amount
        self.stalled += stall
        return 200, {"from": {"id": frm, "balance": self.balance[frm]},
                     "to": {"id": to, "balance": self.balance[to]}}, stall


def fb_load(port, *extra):
    """Runs fb-load; returns (exit status, its JSON summary, its stderr).
    Options in extra override the defaults here."""
    with tempfile.NamedTemporaryFile(suffix=".json") as jf:
        cmd = [FB_LOAD, "--port", str(port), "--accounts", str(ACCOUNTS),
               "--connections", "8", "--quiet", "--json", jf.name] + list(extra)
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=fbtest.REQUEST_TIMEOUT * 4)
        try:
            summary = json.load(open(jf.name))["summary"]
        except (OSError, ValueError, KeyError):
            summary = {}
    return p.returncode, summary, p.stderr


def against(mode, mix="20,20,50,10", *extra):
    bank = Bank(mode)
    try:
        rc, summary, err = fb_load(bank.port, "--requests", "1500",
                                   "--mix", mix, "--timeout", TIMEOUT,
                                   *extra)
    finally:
        bank.stop()
    note("%s bank: %d operations left unanswered, %d balance reads, "
         "audit %s, exit %d" % (mode, bank.stalled, bank.reads,
                                summary.get("audit"), rc))
    return bank, rc, summary, err


def test_real_stack():
    stack = Stack(name="load-audit").start()
    try:
        rc, summary, err = fb_load(stack.port, "--requests", "3000",
                                   "--scenario",
                                   os.path.join(fbtest.SRCDIR, "loadtest",
                                                "scenarios", "seed.conf"),
                                   "--accounts", str(ACCOUNTS),
                                   "--connections", "8")
    finally:
        stack.stop()
    check(rc == 0 and summary.get("audit") == "pass",
          "the seed mix through nginx and the backend: audit pass, exit 0",
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_honest():
    bank, rc, summary, err = against("honest")
    check(bank.stalled > 0, "the honest bank left operations unanswered")
    check(rc == 0 and summary.get("audit") == "pass-uncertain",
          "every unanswered operation applied: pass-uncertain, exit 0",
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_half_transfers():
    bank, rc, summary, err = against("half", mix="5,60,30,5")
    check(bank.stalled > 0, "the half bank left operations unanswered")
    check(rc == 1 and summary.get("audit") == "fail",
          "transfers that debit and never credit: audit fail, exit 1",
          "exit %d, summary %r\n%s" % (rc, summary, err))
    check("no outcome" in err, "fb-load says which operations nothing "
          "explains", err)


def test_late_credit():
    bank, rc, summary, err = against("late")
    check(bank.stalled > 0, "the late bank left operations unanswered")
    check(rc == 0 and summary.get("audit") == "pass-uncertain",
          "a credit that lands while the audit reads: read again, "
          "pass-uncertain, exit 0",
          "exit %d, summary %r\n%s" % (rc, summary, err))
    check(bank.reads >= 2 * ACCOUNTS, "the balances were read more than "
          "once (%d reads of %d accounts)" % (bank.reads, ACCOUNTS))


def test_busy():
    bank, rc, summary, err = against("busy")
    check(bank.stalled > 0, "the busy bank answered 503 to operations it "
          "applied")
    check(rc == 0 and summary.get("audit") == "pass-uncertain",
          "a 503 may have applied: pass-uncertain, exit 0",
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_too_many():
    # Transfers only, among four accounts: every account carries several
    # of them, so none decides one, and more than 20 are left to try.
    bank, rc, summary, err = against("many", "0,0,100,0", "--accounts", "4",
                                     "--requests", "200", "--connections",
                                     "16")
    check(bank.stalled > 20, "the bank left more than 20 transfers "
          "unanswered (%d)" % bank.stalled)
    check(rc == 1 and summary.get("audit") == "unverified",
          "%d transfers of unknown fate among 4 accounts: unverified, exit 1"
          % bank.stalled,
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_liar():
    bank, rc, summary, err = against("liar")
    check(rc == 1 and summary.get("audit") == "fail",
          "deposits answered 200 and never made: audit fail, exit 1",
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_overdraft():
    # Funds of 1,000 against withdrawals of 100..10,000: most overdraw.
    bank, rc, summary, err = against("overdraft", "0,100,0,0", "--fund",
                                     "1000", "--requests", "200")
    negative = min(bank.balance.values())
    check(negative < 0, "the bank let accounts go below zero (%d)" % negative)
    check(rc == 1 and summary.get("audit") == "fail",
          "balances below zero, every one as booked: audit fail, exit 1",
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_refused_applied():
    bank, rc, summary, err = against("refusing", "0,100,0,0", "--requests",
                                     "200")
    check(rc == 1 and summary.get("audit") == "fail",
          "withdrawals answered 400 and made: audit fail, exit 1",
          "exit %d, summary %r\n%s" % (rc, summary, err))


def test_interrupted():
    # One SIGINT in the measured run stops the sending; what was sent is
    # still audited.  The reads take 20 ms each, so the audit outlasts
    # the engine's 10 ms scan that watches for interruptions.
    bank = Bank("slowread")
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as jf:
            p = subprocess.Popen([FB_LOAD, "--port", str(bank.port),
                                  "--accounts", str(ACCOUNTS),
                                  "--connections", "8", "--quiet",
                                  "--json", jf.name, "--duration", "60",
                                  "--timeout", TIMEOUT],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + fbtest.REQUEST_TIMEOUT
            while bank.mutations < 200 and p.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            p.send_signal(signal.SIGINT)
            try:
                err = p.communicate(timeout=fbtest.REQUEST_TIMEOUT)[1]
            except subprocess.TimeoutExpired:
                p.kill()
                err = p.communicate()[1]
            try:
                result = json.load(open(jf.name))
            except (OSError, ValueError):
                result = {}
    finally:
        bank.stop()
    summary = result.get("summary", {})
    stopped = result.get("result", {}).get("stopped_by")
    note("interrupted after %d operations, %d balance reads, audit %s, "
         "exit %d" % (bank.mutations, bank.reads, summary.get("audit"),
                      p.returncode))
    check(p.returncode == 0 and stopped == "signal"
          and summary.get("audit") == "pass",
          "one SIGINT in the measured run: stopped by signal, the audit "
          "reads every balance and passes, exit 0",
          "exit %d, stopped by %r, summary %r\n%s"
          % (p.returncode, stopped, summary, err))


fbtest.run(test_real_stack, test_honest, test_half_transfers,
           test_late_credit, test_busy, test_too_many, test_liar,
           test_overdraft, test_refused_applied, test_interrupted)
fbtest.finish()
