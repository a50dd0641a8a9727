#!/usr/bin/env python3
"""test-crash: kill -9 the backend in the middle of a heavy mixed load,
many times over, and check that nothing acknowledged is lost.

Each round starts nginx and the backend on the same data directory,
checks the accounts against what the clients were told, lets CLIENTS
threads (each a keep-alive connection through nginx) run creates,
deposits, withdrawals, transfers and reads, and kills the backend with
SIGKILL at a random moment.  Rounds alternate --fsync always and batch (a
killed process loses nothing written, so both must keep every reply).
Every other round waits for a snapshot to be written under the load
before the kill, so that recovery starts from a snapshot taken while
balances were changing.

Each client owns its accounts: no one else touches them, so the balance
each must hold is known exactly from the 200s the client got.  Only the
one request a client had in flight when the backend died is unknown: it
is either wholly there (all of a transfer) or wholly absent.  After each
restart:

  - every client was served until the kill: a client stopped earlier by
    a refusal or a malformed reply would leave a request that is not the
    one in flight at the kill, and whatever it did would be accepted;
  - every account created with a 201 exists, with its owner;
  - each client's accounts hold exactly the acknowledged balances, or
    those plus its one request in flight;
  - any account nobody was told about is the in-flight create of one
    client, holding 0;
  - the balances sum to the deposits minus the withdrawals so resolved;
  - fastbank --check on the directory of the dead process finds at most
    a torn tail (never corruption).
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import Stack, check, note  # noqa: E402

ROUNDS = int(os.environ.get("FB_CRASH_ROUNDS", "10"))
CLIENTS = 16
SEED = int(os.environ.get("FB_TEST_SEED", str(int(time.time()))))
SNAPSHOT_RECORDS = 2000
# A bound on waiting for a snapshot under load: a hang check.
SNAPSHOT_WAIT = 180 if fbtest.SANITIZER else 60

rng = random.Random(SEED)
data_dir = None


class ClientState:
    """What one client was told: its accounts and their balances, and the
    request it had in flight when the backend died."""

    def __init__(self, k):
        self.k = k
        self.owners = {}           # id -> owner
        self.balance = {}          # id -> balance acknowledged
        self.pending = None        # ("create", owner) | (op, args, deltas)
        self.net = 0               # deposits - withdrawals acknowledged
        self.created = 0
        self.ok = 0
        self.errors = []
        # When (time.monotonic()) and why the client's loop ended on a
        # reply or an exception: before the kill, it was refused or broke
        # while the backend was alive, and its "request in flight" was no
        # such thing.
        self.stopped = None

    def ids(self):
        return sorted(self.balance)


clients = [ClientState(k) for k in range(CLIENTS)]


def backend_cmd():
    return os.path.join(fbtest.BUILDDIR, "fcgi", "fastbank")


def run_client(st, port, stop, seed):
    r = random.Random(seed)
    c = fbtest.Client(port, timeout=fbtest.REQUEST_TIMEOUT)
    try:
        while not stop.is_set():
            ids = st.ids()
            x = r.random()
            if len(ids) < 3 or x < 0.04:
                st.created += 1
                owner = "crash c%d n%d" % (st.k, st.created)
                st.pending = ("create", owner)
                resp = c.post("/accounts", {"owner": owner})
                if resp.status != 201:
                    st.stopped = (time.monotonic(), resp.describe())
                    break
                aid = resp.json["id"]
                st.owners[aid] = owner
                st.balance[aid] = 0
            elif x < 0.15:
                a = r.choice(ids)
                st.pending = ("read", a)
                resp = c.get("/accounts/%d/balance" % a)
                if resp.status != 200:
                    st.stopped = (time.monotonic(), resp.describe())
                    break
                if resp.json.get("balance") != st.balance[a]:
                    st.errors.append("read of %d: %r, expected %d"
                                     % (a, resp.json, st.balance[a]))
            elif x < 0.45:
                a = r.choice(ids)
                amt = r.randint(1, 100000)
                st.pending = ("deposit", {a: amt}, amt)
                resp = c.post("/accounts/%d/deposit" % a, {"amount": amt})
                if resp.status != 200:
                    st.stopped = (time.monotonic(), resp.describe())
                    break
                st.balance[a] += amt
                st.net += amt
                if resp.json.get("balance") != st.balance[a]:
                    st.errors.append("deposit reply %r, expected %d"
                                     % (resp.json, st.balance[a]))
            elif x < 0.65:
                a = r.choice(ids)
                # Now and then more than the balance: 400, nothing changes.
                amt = r.randint(1, max(1, min(1000000, st.balance[a] + 50)))
                st.pending = ("withdraw", {a: -amt}, -amt)
                resp = c.post("/accounts/%d/withdraw" % a, {"amount": amt})
                if resp.status == 400:
                    st.pending = None
                    if amt <= st.balance[a]:
                        st.errors.append("withdraw %d of %d refused: %r"
                                         % (amt, st.balance[a], resp.body))
                    continue
                if resp.status != 200:
                    st.stopped = (time.monotonic(), resp.describe())
                    break
                st.balance[a] -= amt
                st.net -= amt
            else:
                a, b = r.sample(ids, 2)
                amt = r.randint(1, max(1, min(1000000, st.balance[a] + 50)))
                st.pending = ("transfer", {a: -amt, b: amt}, 0)
                resp = c.post("/accounts/transfer",
                              {"from": a, "to": b, "amount": amt})
                if resp.status == 400:
                    st.pending = None
                    if amt <= st.balance[a]:
                        st.errors.append("transfer %d of %d refused: %r"
                                         % (amt, st.balance[a], resp.body))
                    continue
                if resp.status != 200:
                    st.stopped = (time.monotonic(), resp.describe())
                    break
                st.balance[a] -= amt
                st.balance[b] += amt
            st.pending = None
            st.ok += 1
    except Exception:
        # The backend died under this request (it is pending), or the
        # reply was not what the contract says (run_round tells which by
        # the time).
        st.stopped = (time.monotonic(), traceback.format_exc(limit=2))
    finally:
        c.close()
    if st.pending is not None and st.pending[0] == "read":
        st.pending = None


def get_account(c, aid):
    r = c.get("/accounts/%d" % aid)
    if r.status == 404:
        return None
    if r.status != 200 or r.json is None:
        raise AssertionError("GET /accounts/%d: %d %r" % (aid, r.status,
                                                          r.body))
    return r.json


def verify(stack, round_no):
    """The restarted backend against what the clients were told; resolves
    each client's request in flight by what is there."""
    c = stack.client()
    seen = {}
    aid = 1
    while True:
        obj = get_account(c, aid)
        if obj is None:
            break
        seen[aid] = obj
        aid += 1
    c.close()

    known = {}
    for st in clients:
        for a in st.balance:
            known[a] = st

    ok = True
    lost = [a for a in known if a not in seen]
    ok &= check(not lost, "round %d: every account created with a 201 "
                "exists (%d accounts)" % (round_no, len(known)),
                "missing: %r" % lost[:10])

    # Accounts nobody was told about: in-flight creates.
    extra = sorted(a for a in seen if a not in known)
    for a in extra:
        owner = seen[a]["owner"]
        st = next((s for s in clients if s.pending is not None
                   and s.pending[0] == "create" and s.pending[1] == owner),
                  None)
        good = st is not None and seen[a]["balance"] == 0
        ok &= check(good, "round %d: account %d (%r), unknown to the "
                    "clients, is an in-flight create holding 0"
                    % (round_no, a, owner), repr(seen[a]))
        if good:
            st.owners[a] = owner
            st.balance[a] = 0
            st.pending = None

    owners_ok = all(seen.get(a, {}).get("owner") == st.owners[a]
                    for a, st in known.items())
    ok &= check(owners_ok, "round %d: every owner is as created" % round_no)

    total_net = 0
    applied = 0
    for st in clients:
        ids = st.ids()
        acked = {a: st.balance[a] for a in ids}
        got = {a: seen[a]["balance"] for a in ids if a in seen}
        if got == acked:
            if st.pending is not None and st.pending[0] != "create":
                pass        # the request in flight did not make it
        else:
            with_pending = dict(acked)
            if st.pending is not None and st.pending[0] in (
                    "deposit", "withdraw", "transfer"):
                for a, d in st.pending[1].items():
                    with_pending[a] += d
            if got == with_pending:
                applied += 1
                st.balance = with_pending
                st.net += st.pending[2]
            else:
                diffs = {a: (got.get(a), acked[a], with_pending[a])
                         for a in ids if got.get(a) != acked[a]}
                ok &= check(False, "round %d: client %d's accounts hold "
                            "the acknowledged balances, or those and the "
                            "request in flight" % (round_no, st.k),
                            "id: (got, acknowledged, with in-flight %r): %r"
                            % (st.pending, diffs))
        st.pending = None
        total_net += st.net

    total = sum(v["balance"] for v in seen.values())
    ok &= check(total == total_net, "round %d: money is conserved: the %d "
                "accounts sum to %d, the deposits minus the withdrawals "
                "acknowledged" % (round_no, len(seen), total_net),
                "sum %d" % total)
    note("round %d: %d accounts; %d in-flight requests found applied, "
         "%d unknown accounts adopted" % (round_no, len(seen), applied,
                                          len(extra)))
    return ok


def snapshots():
    try:
        return {f for f in os.listdir(data_dir) if f.startswith("snapshot-")}
    except FileNotFoundError:
        return set()


def run_round(round_no):
    policy = "always" if round_no % 2 == 0 else "batch"
    wait_snapshot = round_no % 4 in (1, 2)
    stack = Stack(name="crash", extra=[
        "--data-dir", data_dir, "--fsync", policy,
        "--snapshot-records", str(SNAPSHOT_RECORDS), "--log-level", "info"])
    stack.start()
    note("round %d: --fsync %s, backend pid %d%s"
         % (round_no, policy, stack.backend_pid,
            ", kill after a snapshot" if wait_snapshot else ""))

    verified = verify(stack, round_no)

    before = snapshots()
    stop = threading.Event()
    threads = [threading.Thread(target=run_client,
                                args=(st, stack.port, stop,
                                      rng.randrange(1 << 30)))
               for st in clients]
    ok_before = sum(st.ok for st in clients)
    for t in threads:
        t.start()

    if wait_snapshot:
        deadline = time.monotonic() + SNAPSHOT_WAIT
        while not (snapshots() - before) and time.monotonic() < deadline:
            time.sleep(0.01)
        check(snapshots() - before, "round %d: a snapshot was written "
              "under load (within %d s)" % (round_no, SNAPSHOT_WAIT))
        time.sleep(rng.uniform(0, 0.2))
    else:
        time.sleep(rng.uniform(0.3, 1.5))

    killed_at = time.monotonic()
    os.kill(stack.backend_pid, signal.SIGKILL)
    fbtest.wait_gone([stack.backend_pid], 30)
    stop.set()
    for t in threads:
        t.join()
    stack.stop(quiet=True)

    done = sum(st.ok for st in clients) - ok_before
    pending = sum(1 for st in clients if st.pending is not None)
    note("round %d: %d requests acknowledged before the kill, %d in flight"
         % (round_no, done, pending))
    # Only the kill may end a client's loop: one that stopped earlier got
    # a reply no request should get (a 500, a 502 from a backend that
    # died by itself, a 200 without the fields), and its last request
    # would be taken below for the one in flight at the kill, whatever it
    # did to the balances.
    early = ["client %d: %s" % (st.k, st.stopped[1]) for st in clients
             if st.stopped is not None and st.stopped[0] < killed_at]
    check(not early and done > 0, "round %d: every client was served until "
          "the kill (%d requests acknowledged)" % (round_no, done),
          "\n".join(early[:3]))
    for st in clients:
        st.stopped = None
    errs = [e for st in clients for e in st.errors]
    check(not errs, "round %d: every reply told the truth" % round_no,
          "\n".join(errs[:10]))
    for st in clients:
        st.errors = []

    # What the dead process left: at worst a torn tail.
    p = subprocess.run([backend_cmd(), "--check", data_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    check(p.returncode in (0, 1), "round %d: fastbank --check after the "
          "kill: consistent or a torn tail (exit %d)"
          % (round_no, p.returncode), p.stdout)
    return verified


def test_crashes():
    for i in range(ROUNDS):
        run_round(i)
    # The last kill, checked by one more start.
    stack = Stack(name="crash-final", extra=[
        "--data-dir", data_dir, "--snapshot-records", str(SNAPSHOT_RECORDS)])
    stack.start()
    verify(stack, ROUNDS)
    # An orderly stop leaves a consistent directory.
    rc = stack.stop()
    check(rc == 0, "the last stop is orderly (exit %r)" % rc)
    p = subprocess.run([backend_cmd(), "--check", data_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    check(p.returncode == 0, "fastbank --check after an orderly stop: "
          "consistent", p.stdout)


def main():
    global data_dir
    fbtest.require()
    import tempfile
    import shutil
    data_dir = tempfile.mkdtemp(prefix="fb-crash-data-")
    note("seed %d (FB_TEST_SEED replays the choices), %d rounds, data in %s"
         % (SEED, ROUNDS, data_dir))
    try:
        fbtest.run(test_crashes)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    fbtest.finish()


main()
