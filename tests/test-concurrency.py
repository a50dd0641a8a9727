#!/usr/bin/env python3
"""test-concurrency: money under concurrent clients, through nginx.

- 100 concurrent transfers of 100 from A (10,000) to B: A = 0, B = 10,000,
  and the balances in the replies are the ones each transfer produced.
- 150 concurrent withdrawals of 100 from 10,000: exactly 100 succeed, 50 get
  INSUFFICIENT_FUNDS.
- 2,000 concurrent deposits of 1 into one account: the replies' balances
  are 1 to 2,000 once each (a lost update repeats one), and it ends at 2,000.
- transfers in both directions between two accounts: every request is
  answered (no deadlock), money is conserved.
- a random mix of deposits, withdrawals, transfers and reads from many
  connections: every reply is consistent, and each account ends with its
  funding plus what the replies say moved in and out.
"""

import os
import random
import sys
import threading

sys.dont_write_bytecode = True     # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import Ledger, Stack, check, is_int, note  # noqa: E402

# A fixed number of worker threads, more than the cores here: by default
# the backend runs one per CPU, and on a one-CPU machine a single thread
# would serve the "concurrent" requests one after another, so that no test
# here could fail for a missing lock.
stack = Stack(name="concurrency", threads=8).start()
main = stack.client()
L = Ledger(main)


def parallel(n_clients, jobs, func):
    """Run func(client, job) for every job, from n_clients keep-alive
    connections at once.  Returns the list of (job, reply or exception)."""
    results = []
    lock = threading.Lock()
    todo = list(jobs)
    start = threading.Barrier(n_clients)

    def worker():
        c = stack.client()
        start.wait()
        while True:
            with lock:
                if not todo:
                    break
                job = todo.pop()
            try:
                r = func(c, job)
            except Exception as e:      # a dropped or hung request
                r = e
            with lock:
                results.append((job, r))
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def balance(aid):
    r = main.get("/accounts/%d" % aid)
    return r.json.get("balance") if r.status == 200 and r.json else None


def errors_of(results):
    return [r for _, r in results if isinstance(r, Exception)]


def test_transfers_one_way():
    a = L.create("Transfer From")
    b = L.create("Transfer To")
    L.deposit(a, 10000)
    res = parallel(50, range(100), lambda c, _: c.post(
        "/accounts/transfer", {"from": a, "to": b, "amount": 100}))
    exc = errors_of(res)
    check(not exc, "100 concurrent transfers: every request answered",
          repr(exc[:3]))
    replies = [r for _, r in res if not isinstance(r, Exception)]
    bad = [r for r in replies if r.status != 200 or r.json is None]
    check(not bad, "100 transfers of 100 from 10,000: all 200",
          bad[0] if bad else None)
    fb = sorted(r.json.get("from_balance") for r in replies if r.json)
    tb = sorted(r.json.get("to_balance") for r in replies if r.json)
    check(fb == list(range(0, 10000, 100)),
          "the from_balance of the replies are 9,900, 9,800, ... 0, once each",
          repr(fb[:10]))
    check(tb == list(range(100, 10001, 100)),
          "the to_balance of the replies are 100, 200, ... 10,000, once each",
          repr(tb[:10]))
    check(all(r.json.get("transferred") == 100 for r in replies if r.json),
          "every reply says 100 transferred")
    check((balance(a), balance(b)) == (0, 10000), "A = 0 and B = 10,000",
          "A = %r, B = %r" % (balance(a), balance(b)))
    L.set(a, 0)
    L.set(b, 10000)


def test_withdrawals():
    a = L.create("Withdraw Race")
    L.deposit(a, 10000)
    res = parallel(50, range(150), lambda c, _: c.post(
        "/accounts/%d/withdraw" % a, {"amount": 100}))
    exc = errors_of(res)
    check(not exc, "150 concurrent withdrawals: every request answered",
          repr(exc[:3]))
    replies = [r for _, r in res if not isinstance(r, Exception)]
    ok = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status == 400 and r.json
               and r.json.get("code") == "INSUFFICIENT_FUNDS"]
    other = [r for r in replies if r not in ok and r not in refused]
    check(len(ok) == 100, "exactly 100 withdrawals succeed (%d did)" % len(ok))
    check(len(refused) == 50,
          "exactly 50 get INSUFFICIENT_FUNDS (%d did)" % len(refused))
    check(not other, "no other reply", other[0] if other else None)
    got = sorted(r.json.get("balance") for r in ok if r.json)
    check(got == list(range(0, 10000, 100)),
          "the balances in the successful replies are 9,900 ... 0, once each",
          repr(got[:10]))
    check(balance(a) == 0, "the account ends at 0 (%r)" % balance(a))
    L.set(a, 0)


def test_hot_account():
    a = L.create("Hot Account")
    res = parallel(50, range(2000), lambda c, _: c.post(
        "/accounts/%d/deposit" % a, {"amount": 1}))
    exc = errors_of(res)
    check(not exc, "2,000 concurrent deposits into one account: every "
          "request answered", repr(exc[:3]))
    replies = [r for _, r in res if not isinstance(r, Exception)]
    got = sorted(r.json.get("balance") for r in replies
                 if r.status == 200 and r.json)
    check(got == list(range(1, 2001)),
          "the balances in the replies are 1, 2, ... 2,000, once each",
          repr([b for i, b in enumerate(got) if i and got[i - 1] == b][:10]))
    check(balance(a) == 2000, "the account ends at 2,000 (%r)" % balance(a))
    L.set(a, 2000)


def test_both_directions():
    x = L.create("Both Ways X")
    y = L.create("Both Ways Y")
    for aid in (x, y):
        for _ in range(5):
            L.deposit(aid, 1000000)
    jobs = [(x, y) if i % 2 else (y, x) for i in range(600)]
    rng = random.Random(7)
    amounts = {i: rng.randint(1, 50000) for i in range(len(jobs))}
    res = parallel(40, list(enumerate(jobs)), lambda c, job: c.post(
        "/accounts/transfer",
        {"from": job[1][0], "to": job[1][1], "amount": amounts[job[0]]}))
    exc = errors_of(res)
    check(not exc, "600 transfers X<->Y from 40 connections: every request "
          "answered within the hang bound (no deadlock)", repr(exc[:3]))
    moved = {x: 0, y: 0}
    bad = []
    for (i, (frm, to)), r in res:
        if isinstance(r, Exception):
            continue
        if r.status == 200 and r.json and r.json.get("transferred") == amounts[i]:
            moved[frm] -= amounts[i]
            moved[to] += amounts[i]
        elif not (r.status == 400 and r.json
                  and r.json.get("code") == "INSUFFICIENT_FUNDS"):
            bad.append(r)
    check(not bad, "every reply is 200 or INSUFFICIENT_FUNDS",
          bad[0] if bad else None)
    bx, by = balance(x), balance(y)
    check(bx is not None and by is not None and bx + by == 10000000,
          "X + Y is still 10,000,000 (%r + %r)" % (bx, by))
    check((bx, by) == (5000000 + moved[x], 5000000 + moved[y]),
          "each balance is its funding plus what the 200 replies moved")
    L.set(x, bx)
    L.set(y, by)


def test_mixed_load():
    n_accounts = 8
    ids = [L.create("Mixed %d" % i) for i in range(n_accounts)]
    funding = {}
    for aid in ids:
        L.deposit(aid, 50000)
        funding[aid] = 50000
    rng = random.Random(1234)
    jobs = []
    for i in range(3000):
        op = rng.choice(("deposit", "withdraw", "transfer", "transfer", "get"))
        a, b = rng.sample(ids, 2)
        jobs.append((i, op, a, b, rng.randint(1, 30000)))

    def do(c, job):
        _, op, a, b, amount = job
        if op == "deposit":
            return c.post("/accounts/%d/deposit" % a, {"amount": amount})
        if op == "withdraw":
            return c.post("/accounts/%d/withdraw" % a, {"amount": amount})
        if op == "transfer":
            return c.post("/accounts/transfer",
                          {"from": a, "to": b, "amount": amount})
        return c.get("/accounts/%d/balance" % a)

    res = parallel(64, jobs, do)
    exc = errors_of(res)
    check(not exc, "3,000 mixed requests from 64 connections: every request "
          "answered", repr(exc[:3]))
    delta = {aid: 0 for aid in ids}
    deposits = withdrawals = 0
    inconsistent = []
    for (_, op, a, b, amount), r in res:
        if isinstance(r, Exception):
            continue
        o = r.json
        if r.status == 200 and o is not None:
            if op == "deposit" and o.get("id") == a and is_int(o.get("balance")) \
                    and o["balance"] >= amount:
                delta[a] += amount
                deposits += amount
            elif op == "withdraw" and o.get("id") == a \
                    and is_int(o.get("balance")) and o["balance"] >= 0:
                delta[a] -= amount
                withdrawals += amount
            elif op == "transfer" and o.get("transferred") == amount \
                    and (o.get("from_id"), o.get("to_id")) == (a, b) \
                    and is_int(o.get("from_balance")) and o["from_balance"] >= 0 \
                    and is_int(o.get("to_balance")) and o["to_balance"] >= amount:
                delta[a] -= amount
                delta[b] += amount
            elif op == "get" and o.get("id") == a and is_int(o.get("balance")) \
                    and o["balance"] >= 0:
                pass
            else:
                inconsistent.append(r)
        elif op in ("withdraw", "transfer") and r.status == 400 and o \
                and o.get("code") == "INSUFFICIENT_FUNDS":
            pass
        else:
            inconsistent.append(r)
    check(not inconsistent, "every reply is consistent with its request "
          "(%d inconsistent)" % len(inconsistent),
          inconsistent[0] if inconsistent else None)
    final = {aid: balance(aid) for aid in ids}
    total = sum(v for v in final.values() if v is not None)
    expect_total = sum(funding.values()) + deposits - withdrawals
    check(total == expect_total,
          "sum of balances (%d) == funding + successful deposits - successful "
          "withdrawals (%d)" % (total, expect_total))
    wrong = {aid: (final[aid], funding[aid] + delta[aid]) for aid in ids
             if final[aid] != funding[aid] + delta[aid]}
    check(not wrong, "each account holds its funding plus what the replies "
          "say moved in and out", repr(wrong))
    note("mixed load: deposits %d, withdrawals %d" % (deposits, withdrawals))
    for aid in ids:
        L.set(aid, final[aid])


def test_final_state():
    L.verify("the whole run")


fbtest.run(test_transfers_one_way, test_withdrawals, test_hot_account,
           test_both_directions,
           test_mixed_load, test_final_state)
main.close()
rc = stack.stop()
check(rc == 0, "fb-run.sh stopped cleanly (exit status %r)" % rc)
fbtest.finish()
