#!/usr/bin/env python3
"""test-metrics-e2e: /metrics through nginx, after a known set of requests.

A stack of three worker threads answers a known list of requests (every
endpoint, successes and each kind of refusal, several methods); the test
then scrapes /metrics and checks, exactly:

- http_requests_total by method, endpoint template and status: what
  changed since the first scrape equals the requests made, and nothing
  else changed (fb-run.sh's own /healthz probes happened before it);
- http_request_duration_seconds: _count per method and endpoint equals
  the requests made, the histogram invariants hold (no time is asserted);
- banking_operations_total by operation and outcome,
  accounts_created_total, accounts_active, the transfer_amount_centavos
  histogram (buckets, _sum, _count): absolute values;
- the worker pool: configured threads; busy is exactly the thread
  answering the scrape;
- the Content-Type, the format rules, promtool check metrics on the real
  scrape, and that no counter goes backwards over later scrapes.

The backend counts a request before the reply leaves, so a scrape sent
after a reply is read sees it: no waiting, no retries.
"""

import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import Stack, check, note  # noqa: E402
import fbmetrics  # noqa: E402

THREADS = 3
METRICS_ON = os.environ.get("FB_METRICS", "yes") != "no"

fbmetrics.promtool()            # a hard error now rather than at the end
stack = Stack(threads=THREADS, name="metrics").start()
c = stack.client()

# (method label, endpoint label, status) of every request this test made
# to the backend, scrapes included.
made = collections.Counter()
# (operation, "success" | "error") -> count
ops = collections.Counter()
transfers = []                  # amounts of successful transfers
created = 0

ROUTE_OPS = {"/accounts/{id}/deposit": "deposit",
             "/accounts/{id}/withdraw": "withdraw",
             "/accounts/transfer": "transfer"}


def call(method, path, body, endpoint, status, what=None):
    """One request whose status is known in advance; records what the
    backend must count for it."""
    global created
    r = c.request(method, path, body=body)
    check(r.status == status, what or "%s %s -> %d" % (method, path, status),
          r)
    label = method if method in ("GET", "HEAD", "POST") else "OTHER"
    made[(label, endpoint, str(r.status))] += 1
    op = ROUTE_OPS.get(endpoint)
    if op is not None and method == "POST":
        ops[(op, "success" if r.status == 200 else "error")] += 1
        if op == "transfer" and r.status == 200:
            transfers.append(body["amount"])
    if endpoint == "/accounts" and r.status == 201:
        created += 1
    return r


def scrape(what="scrape"):
    r = c.get("/metrics")
    made[("GET", "/metrics", str(r.status))] += 1
    check(r.status == 200, "%s: GET /metrics -> 200" % what, r)
    check(r.header("Content-Type") == "text/plain; version=0.0.4",
          "%s: Content-Type text/plain; version=0.0.4" % what,
          r.header("Content-Type"))
    text = r.body.decode("utf-8")
    e = fbmetrics.parse(text)
    check(not e.errors, "%s: a well-formed exposition" % what,
          "\n".join(e.errors[:20]))
    return text, e


def requests_made():
    A = "/accounts"
    I = "/accounts/{id}"
    call("POST", A, {"owner": "Alice"}, A, 201)
    call("POST", A, {"owner": "Bob"}, A, 201)
    call("POST", A, {"owner": "Zoë O'Brien"}, A, 201)
    call("POST", A, {"owner": "A"}, A, 400, "create refused: short owner")
    call("POST", A, "not json", A, 400, "create refused: not JSON")
    call("GET", A, None, A, 405, "GET /accounts: 405")
    call("GET", "/accounts/1", None, I, 200)
    call("GET", "/accounts/1", None, I, 200)
    call("HEAD", "/accounts/2", None, I, 200)
    call("GET", "/accounts/99", None, I, 404)
    call("GET", "/accounts/abc", None, I, 400, "a bad id: 400 under {id}")
    call("DELETE", "/accounts/1", None, I, 405, "DELETE: method OTHER")
    call("GET", "/accounts/2/balance", None, "/accounts/{id}/balance", 200)
    D = "/accounts/{id}/deposit"
    W = "/accounts/{id}/withdraw"
    T = "/accounts/transfer"
    call("POST", "/accounts/1/deposit", {"amount": 10000}, D, 200)
    call("POST", "/accounts/1/deposit", {"amount": 10000}, D, 200)
    call("POST", "/accounts/2/deposit", {"amount": 0}, D, 400,
         "deposit refused: amount 0")
    call("POST", "/accounts/99/deposit", {"amount": 5}, D, 404,
         "deposit refused: no account")
    call("POST", "/accounts/x/deposit", {"amount": 5}, D, 400,
         "deposit refused: bad id")
    call("GET", "/accounts/1/deposit", None, D, 405,
         "GET on deposit: 405, no operation")
    call("POST", "/accounts/1/withdraw", {"amount": 5000}, W, 200)
    call("POST", "/accounts/2/withdraw", {"amount": 1}, W, 400,
         "withdraw refused: insufficient funds")
    call("POST", T, {"from": 1, "to": 2, "amount": 100}, T, 200)
    call("POST", T, {"from": 1, "to": 3, "amount": 5000}, T, 200)
    call("POST", T, {"from": 1, "to": 2, "amount": 101}, T, 200)
    call("POST", T, {"from": 1, "to": 1, "amount": 1}, T, 400,
         "transfer refused: to itself")
    call("POST", T, {"from": 1, "to": 99, "amount": 1}, T, 404,
         "transfer refused: no account")
    call("POST", T, {"from": 3, "to": 1, "amount": 1000001}, T, 400,
         "transfer refused: amount too large")
    call("GET", "/healthz", None, "/healthz", 200)
    call("GET", "/nowhere", None, "unmatched", 404, "no route: unmatched")
    call("POST", "/accounts/1/close", {}, "unmatched", 404)


def requests_total(e):
    return {(d["method"], d["endpoint"], d["status_code"]): v
            for d, v in e.series("http_requests_total")}


def test_exact():
    text0, e0 = scrape("first scrape")
    before = requests_total(e0)
    requests_made()
    text, e = scrape("after the requests")

    ok, out = fbmetrics.promtool_check_metrics(text)
    check(ok, "promtool check metrics accepts the real scrape", out)

    check(e.get("fastbank_worker_threads") == THREADS,
          "fastbank_worker_threads is %d" % THREADS,
          e.get("fastbank_worker_threads"))
    check(e.get("accounts_active") == 3, "accounts_active 3",
          e.get("accounts_active"))
    check(e.get("process_open_fds") is not None
          and e.get("process_open_fds") > 0, "process_open_fds present")
    for n in ("process_resident_memory_bytes", "process_cpu_seconds_total",
              "process_start_time_seconds"):
        check(e.get(n) is not None and e.get(n) > 0, "%s present" % n)

    if not METRICS_ON:
        # ./configure --disable-metrics: samples of the scrape-time values
        # only; the others declared, saying why they have none.
        for n in ("http_requests_total", "banking_operations_total",
                  "accounts_created_total", "transfer_amount_centavos_count",
                  "fastbank_worker_threads_busy"):
            check(n not in e.names(),
                  "no %s sample with metrics compiled out" % n)
        check("built with --disable-metrics"
              in e.helps.get("http_requests_total", ""),
              "http_requests_total's HELP says it is not recorded",
              e.helps.get("http_requests_total"))
        return

    # The first scrape is in made: it was counted once it was answered.
    after = requests_total(e)
    changed = {k: v - before.get(k, 0) for k, v in after.items()
               if v != before.get(k, 0)}
    want = dict(made)
    want[("GET", "/metrics", "200")] -= 1       # this scrape: not yet
    want = {k: v for k, v in want.items() if v}
    check(changed == want,
          "http_requests_total grew by exactly the requests made",
          "want %s\ngot  %s" % (sorted(want.items()), sorted(changed.items())))
    check(all(v >= 0 for v in changed.values()), "no request count fell")
    check(("GET", "/accounts/{id}", "200") in after
          and all("/1" not in k[1] and "abc" not in k[1] for k in after),
          "endpoint labels are route templates, never raw paths",
          sorted(after))

    # Duration: one observation per request, per method and endpoint.
    per_rm = collections.Counter()
    for (m, ep, _), n in want.items():
        per_rm[(m, ep)] += n
    for (m, ep), n in sorted(per_rm.items()):
        c0 = e0.get("http_request_duration_seconds_count", method=m,
                    endpoint=ep) or 0
        c1 = e.get("http_request_duration_seconds_count", method=m,
                   endpoint=ep)
        check(c1 is not None and c1 - c0 == n,
              "duration _count of %s %s grew by %d" % (m, ep, n),
              "%s -> %s" % (c0, c1))
        inf = e.get("http_request_duration_seconds_bucket", method=m,
                    endpoint=ep, le="+Inf")
        check(inf == c1, "duration +Inf == _count for %s %s" % (m, ep))

    for op in ("deposit", "withdraw", "transfer"):
        for st in ("success", "error"):
            got = e.get("banking_operations_total", operation=op, status=st)
            check(got == ops[(op, st)], "banking_operations_total %s %s = %d"
                  % (op, st, ops[(op, st)]), got)
    check(e.get("accounts_created_total") == created == 3,
          "accounts_created_total 3", e.get("accounts_created_total"))

    buckets = {d["le"]: v for d, v
               in e.series("transfer_amount_centavos_bucket")}
    check(len(buckets) > 1, "the transfer histogram has buckets", buckets)
    for le, v in buckets.items():
        bound = float(le.replace("Inf", "inf"))
        want_n = sum(1 for a in transfers if a <= bound)
        check(v == want_n, "transfer_amount_centavos le=%s holds %d"
              % (le, want_n), v)
    check(e.raw.get(("transfer_amount_centavos_sum", frozenset()))
          == str(sum(transfers)),
          "transfer_amount_centavos_sum %d" % sum(transfers),
          e.raw.get(("transfer_amount_centavos_sum", frozenset())))
    check(e.get("transfer_amount_centavos_count") == len(transfers),
          "transfer_amount_centavos_count %d" % len(transfers))

    # The journal (--fsync always, the default): one record per account
    # created and per operation that succeeded, every one synced before
    # its reply, so at least one fdatasync and never more than records.
    recs = (e.get("fastbank_journal_records_total")
            - (e0.get("fastbank_journal_records_total") or 0))
    mutations = created + sum(n for (op, st), n in ops.items()
                              if st == "success")
    check(recs == mutations, "fastbank_journal_records_total grew by %d "
          "(creates and successful operations)" % mutations, recs)
    syncs = e.get("fastbank_journal_fsyncs_total")
    check(syncs is not None and 1 <= syncs <= e.get(
          "fastbank_journal_records_total"),
          "fastbank_journal_fsyncs_total between 1 and the records", syncs)
    check(e.get("fastbank_journal_writes_total") is not None
          and e.get("fastbank_journal_writes_total") >= syncs,
          "fastbank_journal_writes_total: a write behind every sync",
          e.get("fastbank_journal_writes_total"))
    gathers = e.get("fastbank_journal_gathers_total")
    check(gathers is not None and 0 <= gathers <= syncs,
          "fastbank_journal_gathers_total between 0 and the syncs", gathers)
    cut = e.get("fastbank_journal_gathers_cut_total")
    check(cut is not None and 0 <= cut <= gathers,
          "fastbank_journal_gathers_cut_total between 0 and the gathers", cut)
    check(e.get("fastbank_journal_failed") == 0, "fastbank_journal_failed 0",
          e.get("fastbank_journal_failed"))
    h = "fastbank_journal_fsync_duration_seconds"
    check(e.get(h + "_count") == syncs,
          "%s_count == fastbank_journal_fsyncs_total" % h,
          (e.get(h + "_count"), syncs))
    sb = sorted(((float(d["le"].replace("Inf", "inf")), v)
                 for d, v in e.series(h + "_bucket")))
    check(len(sb) > 1 and sb[-1][0] == float("inf") and sb[-1][1] == syncs
          and all(a[1] <= b[1] for a, b in zip(sb, sb[1:])),
          "%s: cumulative buckets up to +Inf == the syncs" % h, sb)
    check(e.get(h + "_sum") is not None and e.get(h + "_sum") > 0,
          "%s_sum > 0" % h, e.get(h + "_sum"))

    # Only the thread answering this scrape is busy: every reply the client
    # read was counted, and its worker marked idle, before it was sent.
    check(e.get("fastbank_worker_threads_busy") == 1,
          "fastbank_worker_threads_busy is 1 (the scrape)",
          e.get("fastbank_worker_threads_busy"))


def test_not_backwards():
    """Over several scrapes with traffic between them, no counter, bucket,
    _sum or _count ever falls."""
    _, prev = scrape("scrape 1")
    for i in range(2, 6):
        call("POST", "/accounts/%d/deposit" % (i % 3 + 1), {"amount": i},
             "/accounts/{id}/deposit", 200)
        call("GET", "/accounts/%d" % (i % 3 + 1), None, "/accounts/{id}",
             200)
        _, cur = scrape("scrape %d" % i)
        fell = []
        for key, v in prev.samples.items():
            t = prev.types.get(prev.family_of[key])
            if t not in ("counter", "histogram"):
                continue
            w = cur.samples.get(key)
            if w is None or w < v:
                fell.append((key, v, w))
        check(not fell, "scrape %d: nothing fell or vanished" % i, fell[:5])
        prev = cur


def test_parser_catches():
    """The format checks used above report what they are meant to."""
    good = ('# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n'
            '# HELP h H.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\n'
            'h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 2\nh_sum 0.5\n'
            'h_count 2\n')
    e = fbmetrics.parse(good)
    check(not e.errors and e.get("a_total", x="1") == 3
          and e.get("h_bucket", le="1") == 2, "a good text parses",
          e.errors)
    h = "# HELP h H.\n# TYPE h histogram\n"
    bad = {
        "no final newline": "# HELP a A.\n# TYPE a gauge\na 1",
        "HELP twice": "# HELP a A.\n# HELP a A.\n# TYPE a gauge\na 1\n",
        "TYPE after samples": "# HELP a A.\na 1\n# TYPE a gauge\n",
        "lines apart": '# HELP a A.\n# TYPE a gauge\na{x="1"} 1\n'
                       '# HELP b B.\n# TYPE b gauge\nb 1\na{x="2"} 1\n',
        "a series twice": '# HELP a A.\n# TYPE a gauge\na{x="1",y="2"} 1\n'
                          'a{y="2",x="1"} 1\n',
        "bad escape": '# HELP a A.\n# TYPE a gauge\na{x="\\t"} 1\n',
        "not a float": "# HELP a A.\n# TYPE a gauge\na 0x10\n",
        "counter below zero":
            "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
        "not cumulative": h + 'h_bucket{le="0.1"} 2\nh_bucket{le="1"} 1\n'
                              'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
        "le not increasing": h + 'h_bucket{le="1"} 1\n'
                                 'h_bucket{le="0.1"} 1\n'
                                 'h_bucket{le="+Inf"} 1\nh_sum 1\n'
                                 'h_count 1\n',
        "+Inf != _count": h + 'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
        "no +Inf": h + 'h_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
        "no _sum": h + 'h_bucket{le="+Inf"} 1\nh_count 1\n',
    }
    for what, text in bad.items():
        check(fbmetrics.parse(text).errors, "the parser catches: %s" % what)


def test_start_time():
    _, e = scrape("start time")
    t = e.get("process_start_time_seconds")
    check(t is not None and 0 < t <= time.time(),
          "process_start_time_seconds is in the past", t)


fbtest.run(test_parser_catches, test_exact, test_not_backwards,
           test_start_time)
stack.stop()
fbtest.finish()
