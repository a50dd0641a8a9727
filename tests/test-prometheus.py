#!/usr/bin/env python3
"""test-prometheus: a real Prometheus (Debian's package) scrapes nginx's
/metrics with the shipped example configuration and rules.

The test starts a stack, makes a few requests, and starts prometheus on
127.0.0.1 with contrib/prometheus/prometheus.yml (target, scrape and
evaluation intervals changed for the test) and fastbank-rules.yml, in a
temporary storage directory.  Through Prometheus's HTTP API it then checks
that the target is up, that every series name the backend exports is
stored, that stored values equal what was done, that each alerting rule
evaluates without error, and that every query of the Grafana dashboard is
valid and evaluates.  Prometheus is stopped by its pid; every wait is
bounded; a missing prometheus is a hard error (99), never a skip.
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import Stack, check, note  # noqa: E402
import fbmetrics  # noqa: E402

PROM_DIR = os.path.join(fbtest.SRCDIR, "contrib", "prometheus")
DASHBOARD = os.path.join(fbtest.SRCDIR, "contrib", "grafana", "fastbank.json")
METRICS_ON = os.environ.get("FB_METRICS", "yes") != "no"
# Bounds on waits for Prometheus: a hang check, not a timing test.
WAIT = 180 if fbtest.SANITIZER else 60

PROMETHEUS = fbmetrics.prometheus()

# Prometheus bounds a scrape by the interval: with 1 s, a sanitizer build on a
# loaded machine can miss one, and a failed scrape marks every series stale
# until the next.  2 s leaves room; the checks below also wait for a value
# rather than read it once, so one missed scrape delays them, no more.
SCRAPE = "scrape_interval: 2s\n  scrape_timeout: 2s"


class Prometheus:
    def __init__(self, target_port):
        self.dir = tempfile.mkdtemp(prefix="fb-prometheus-")
        self.target_port = target_port
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "prometheus.log")

    def write_config(self):
        """The shipped example, pointed at the test's nginx, with short
        intervals; the rules file beside it, as shipped."""
        with open(os.path.join(PROM_DIR, "prometheus.yml")) as f:
            text = f.read()
        for old, new in (("127.0.0.1:8080", "127.0.0.1:%d" % self.target_port),
                         ("scrape_interval: 15s", SCRAPE),
                         ("evaluation_interval: 15s",
                          "evaluation_interval: 1s")):
            if text.count(old) != 1:
                raise RuntimeError("contrib/prometheus/prometheus.yml: "
                                   "expected %r once" % old)
            text = text.replace(old, new)
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(text)
        shutil.copy(os.path.join(PROM_DIR, "fastbank-rules.yml"), self.dir)

    def start(self):
        self.write_config()
        for attempt in range(3):
            self.port = fbtest.free_port()
            cmd = [PROMETHEUS,
                   "--config.file=%s" % os.path.join(self.dir,
                                                     "prometheus.yml"),
                   "--storage.tsdb.path=%s" % os.path.join(self.dir, "data"),
                   "--web.listen-address=127.0.0.1:%d" % self.port,
                   "--log.level=warn"]
            note("starting: %s" % " ".join(cmd))
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL,
                                             cwd=self.dir)
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    urllib.request.urlopen(self.url("/-/ready"), timeout=5)
                    note("prometheus pid %d on port %d"
                         % (self.proc.pid, self.port))
                    return self
                except (urllib.error.URLError, OSError):
                    time.sleep(0.2)
            self.stop()
            if "address already in use" in self.log() and attempt < 2:
                continue
            raise RuntimeError("prometheus did not become ready:\n%s"
                               % self.log())
        raise RuntimeError("no free port for prometheus")

    def url(self, path, **params):
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        return "http://127.0.0.1:%d%s%s" % (self.port, path, q)

    def api(self, path, **params):
        """The JSON of an API call; {} with status "error" on failure."""
        try:
            with urllib.request.urlopen(self.url(path, **params),
                                        timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            try:
                return json.load(e)
            except ValueError:
                return {"status": "error", "error": str(e)}
        except (urllib.error.URLError, OSError, ValueError) as e:
            return {"status": "error", "error": str(e)}

    def query(self, expr):
        return self.api("/api/v1/query", query=expr)

    def wait_for(self, what, probe):
        """Calls probe() until it returns something true, within WAIT
        seconds; returns the last result."""
        deadline = time.monotonic() + WAIT
        while True:
            got = probe()
            if got or time.monotonic() > deadline:
                return got
            if self.proc.poll() is not None:
                note("prometheus exited while waiting for %s:\n%s"
                     % (what, self.log()))
                return got
            time.sleep(0.25)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                note("prometheus pid %d did not stop in 30 s: SIGKILL"
                     % self.proc.pid)
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


stack = Stack(threads=2, name="prometheus").start()
c = stack.client()

# What the stored values must show.
for owner in ("Alice", "Bob"):
    r = c.post("/accounts", {"owner": owner})
    check(r.status == 201, "create %s" % owner, r)
r = c.post("/accounts/1/deposit", {"amount": 5000})
check(r.status == 200, "deposit", r)
r = c.post("/accounts/transfer", {"from": 1, "to": 2, "amount": 1234})
check(r.status == 200, "transfer", r)

r = c.get("/metrics")
check(r.status == 200, "GET /metrics", r)
exported = fbmetrics.parse(r.body.decode("utf-8")).names()
check(len(exported) > 0, "the backend exports series", exported)

prom = Prometheus(stack.port)
atexit.register(prom.cleanup)
try:
    prom.start()
except RuntimeError as e:
    check(False, "prometheus starts", str(e))
    prom.cleanup()
    fbtest.finish()


def one_value(expr):
    res = prom.query(expr)
    data = res.get("data", {}).get("result", [])
    return data[0]["value"][1] if res.get("status") == "success" \
        and len(data) == 1 else None


def check_value(expr, want, what):
    """expr has the single value want, within the wait bound: a scrape that
    failed on a loaded machine leaves the series stale until the next."""
    got = prom.wait_for(what, lambda: one_value(expr) == want)
    check(got, what, "%s = %r, want %r" % (expr, one_value(expr), want))


def test_target_up():
    def up():
        res = prom.api("/api/v1/targets")
        for t in res.get("data", {}).get("activeTargets", []):
            if t.get("scrapeUrl") == "http://127.0.0.1:%d/metrics" \
                    % stack.port and t.get("health") == "up" \
                    and t.get("lastError") == "":
                return t
        return None

    t = prom.wait_for("the target to be up", up)
    check(t is not None, "the fastbank target is up and its last scrape "
          "had no error (/api/v1/targets)",
          prom.api("/api/v1/targets"))
    if t is not None:
        check(t.get("labels", {}).get("job") == "fastbank",
              "its job label is fastbank", t.get("labels"))
    check_value('up{job="fastbank"}', "1", 'up{job="fastbank"} is 1')


def test_series_stored():
    def names():
        res = prom.query('group by (__name__) ({job="fastbank"})')
        got = {s["metric"].get("__name__")
               for s in res.get("data", {}).get("result", [])}
        return got if exported <= got else None

    got = prom.wait_for("the series to be stored", names)
    missing = sorted(exported - (got or set()))
    check(not missing, "every series name the backend exports is stored "
          "(%d names)" % len(exported), "missing: %s" % missing)

    check_value('accounts_active{job="fastbank"}', "2",
                "accounts_active is 2 in Prometheus")
    if not METRICS_ON:
        return
    check_value('accounts_created_total{job="fastbank"}', "2",
                "accounts_created_total is 2 in Prometheus")
    check_value('http_requests_total{job="fastbank",method="POST",'
                'endpoint="/accounts",status_code="201"}', "2",
                "http_requests_total for the two creations is 2")
    check_value('banking_operations_total{job="fastbank",'
                'operation="transfer",status="success"}', "1",
                "one successful transfer stored")
    check_value('transfer_amount_centavos_sum{job="fastbank"}', "1234",
                "transfer_amount_centavos_sum is 1234")
    check_value('fastbank_worker_threads{job="fastbank"}', "2",
                "fastbank_worker_threads is 2")


def test_rules_evaluate():
    def healthy():
        res = prom.api("/api/v1/rules")
        rules = [r for g in res.get("data", {}).get("groups", [])
                 for r in g.get("rules", [])]
        if len(rules) == 5 and all(r.get("health") == "ok" for r in rules):
            return rules
        return None

    rules = prom.wait_for("the rules to evaluate", healthy)
    check(rules is not None, "the five alerting rules load and evaluate "
          "without error", prom.api("/api/v1/rules"))
    if rules:
        check(sorted(r["name"] for r in rules)
              == ["FastbankDown", "FastbankHighErrorRate",
                  "FastbankHighLatencyP99", "FastbankJournalFailed",
                  "FastbankWorkerPoolSaturated"],
              "they are the shipped rules")

        def down_inactive():
            res = prom.api("/api/v1/rules")
            return [r for g in res.get("data", {}).get("groups", [])
                    for r in g.get("rules", [])
                    if r.get("name") == "FastbankDown"
                    and r.get("state") == "inactive"]

        check(prom.wait_for("FastbankDown inactive", down_inactive),
              "FastbankDown is not firing while the target is up",
              prom.api("/api/v1/rules"))


def test_dashboard_queries():
    with open(DASHBOARD) as f:
        d = json.load(f)
    exprs = []
    for p in d.get("panels", []):
        for t in p.get("targets", []):
            exprs.append((p.get("title"), t.get("expr", "")))
    check(len(exprs) > 0, "the dashboard has queries")
    for title, expr in exprs:
        q = (expr.replace("$__rate_interval", "1m")
             .replace("$job", "fastbank").replace("$instance", ".*"))
        res = prom.query(q)
        check(res.get("status") == "success",
              "dashboard %r: the query evaluates" % title,
              "%s\n%s" % (q, res))

    if not METRICS_ON:
        return

    # Two scrapes give a rate: the requests panel then has data.
    q = exprs[0][1].replace("$__rate_interval", "1m") \
        .replace("$job", "fastbank").replace("$instance", ".*")
    got = prom.wait_for("a rate", lambda: prom.query(q).get("data", {})
                        .get("result"))
    check(bool(got), "dashboard %r has data" % exprs[0][0], q)


fbtest.run(test_target_up, test_series_stored, test_rules_evaluate,
           test_dashboard_queries)
prom.cleanup()
stack.stop()
fbtest.finish()
