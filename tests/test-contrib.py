#!/usr/bin/env python3
"""test-contrib: what contrib/ gives operators is valid and speaks of
metrics the backend defines.

- contrib/prometheus/prometheus.yml: promtool check config.
- contrib/prometheus/fastbank-rules.yml: promtool check rules, and
  promtool test rules fastbank-rules.test.yml (each alert fires on series
  that should trip it, not on those beside them); every expression selects
  only metrics the backend defines (or Prometheus's own up).
- contrib/grafana/fastbank.json: valid JSON; a datasource variable of type
  prometheus that every panel and query uses; $job and $instance in every
  selector; panels for what the issue lists; unique panel ids, refIds and
  places on the grid; every expression selects only defined metrics.

No server is started here; tests/test-prometheus.py runs every dashboard
and rule expression against a real Prometheus.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fbtest  # noqa: E402
from fbtest import check, note  # noqa: E402
import fbmetrics  # noqa: E402

PROM_DIR = os.path.join(fbtest.SRCDIR, "contrib", "prometheus")
DASHBOARD = os.path.join(fbtest.SRCDIR, "contrib", "grafana", "fastbank.json")

DEFINED = fbmetrics.defined_names()
# Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up"}


def promtool(*args):
    r = subprocess.run([fbmetrics.promtool()] + list(args), cwd=PROM_DIR,
                       capture_output=True, text=True, timeout=120)
    return r.returncode, (r.stdout + r.stderr).strip()


def rule_exprs(path):
    """The expr of every rule in a rules file (plain or block scalar)."""
    exprs = []
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        i += 1
        if not m:
            continue
        indent, rest = len(m.group(1)), m.group(2)
        if rest not in ("|", ">", "|-", ">-"):
            exprs.append(rest)
            continue
        body = []
        while i < len(lines) and (lines[i].strip() == ""
                                  or len(lines[i]) - len(lines[i].lstrip())
                                  > indent):
            body.append(lines[i].strip())
            i += 1
        exprs.append(" ".join(body).strip())
    return exprs


def check_names(expr, where, allowed):
    sel = fbmetrics.selectors(expr)
    check(len(sel) > 0, "%s: selects some metric" % where, expr)
    unknown = sorted({n for n, _ in sel} - allowed)
    check(not unknown, "%s: selects only defined metrics" % where,
          "unknown: %s\nexpr: %s" % (unknown, expr))
    bare = fbmetrics.bare_names(expr, DEFINED)
    check(not bare, "%s: every metric written with a selector" % where,
          "bare: %s\nexpr: %s" % (sorted(bare), expr))
    return sel


def test_names_list():
    # The list the other checks compare with must hold the contract's
    # metrics, or they would compare with nothing.
    for n in ("http_requests_total", "http_request_duration_seconds_bucket",
              "banking_operations_total", "accounts_created_total",
              "accounts_active", "transfer_amount_centavos_bucket",
              "process_resident_memory_bytes", "process_cpu_seconds_total",
              "process_start_time_seconds", "process_open_fds",
              "fastbank_worker_threads", "fastbank_worker_threads_busy",
              "fastbank_journal_failed", "fastbank_journal_fsyncs_total"):
        check(n in DEFINED, "the backend defines %s" % n)


def test_prometheus_files():
    rc, out = promtool("check", "config", "prometheus.yml")
    check(rc == 0, "promtool check config prometheus.yml", out)
    rc, out = promtool("check", "rules", "fastbank-rules.yml")
    check(rc == 0, "promtool check rules fastbank-rules.yml", out)
    check(re.search(r"SUCCESS: 5 rules found", out) is not None,
          "fastbank-rules.yml has the five alerts", out)
    rc, out = promtool("test", "rules", "fastbank-rules.test.yml")
    check(rc == 0, "promtool test rules fastbank-rules.test.yml", out)

    text = open(os.path.join(PROM_DIR, "fastbank-rules.yml")).read()
    alerts = re.findall(r"^\s*- alert:\s*(\S+)", text, re.M)
    check(sorted(alerts) == sorted(["FastbankDown", "FastbankHighErrorRate",
                                    "FastbankHighLatencyP99",
                                    "FastbankWorkerPoolSaturated",
                                    "FastbankJournalFailed"]),
          "alerts: down, error rate, p99 latency, pool saturation, "
          "journal failed", alerts)

    tests = open(os.path.join(PROM_DIR, "fastbank-rules.test.yml")).read()
    for a in alerts:
        check(re.search(r"alertname:\s*%s\s*\n\s*exp_alerts:\s*\n\s*- "
                        % re.escape(a), tests) is not None,
              "the rule tests expect %s to fire somewhere" % a)

    exprs = rule_exprs(os.path.join(PROM_DIR, "fastbank-rules.yml"))
    check(len(exprs) == len(alerts), "one expr per alert", exprs)
    for i, e in enumerate(exprs):
        check_names(e, "rule %d" % (i + 1), DEFINED | PROMETHEUS_OWN)
    joined = " ".join(exprs)
    check("histogram_quantile(0.99" in joined
          and "http_request_duration_seconds_bucket" in joined,
          "the latency alert uses p99 from the histogram")
    check("rate(process_cpu_seconds_total{" in joined
          and "fastbank_worker_threads{" in joined,
          "the saturation alert divides the CPU rate by the worker count "
          "(each worker is an event loop: one CPU at most)")


def panels_of(d):
    out = []
    for p in d.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def test_dashboard():
    try:
        with open(DASHBOARD) as f:
            d = json.load(f)
    except ValueError as x:
        check(False, "fastbank.json is valid JSON", str(x))
        return
    check(True, "fastbank.json is valid JSON")

    check(isinstance(d.get("title"), str) and d["title"],
          "the dashboard has a title")
    check(isinstance(d.get("uid"), str) and 0 < len(d["uid"]) <= 40,
          "the dashboard has a uid")
    check(isinstance(d.get("schemaVersion"), int), "schemaVersion is set")

    variables = {v.get("name"): v for v in d.get("templating", {})
                 .get("list", [])}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "a datasource variable that lists Prometheus data sources", ds)
    for name in ("job", "instance"):
        v = variables.get(name, {})
        check(v.get("type") == "query"
              and v.get("datasource", {}).get("uid") == "${datasource}",
              "a $%s variable queried from ${datasource}" % name, v)
        q = v.get("query", {})
        q = q.get("query", "") if isinstance(q, dict) else q
        m = re.match(r"label_values\((%s)" % fbmetrics.NAME, q)
        check(m is not None and m.group(1) in DEFINED,
              "$%s's values come from a defined metric" % name, q)

    panels = [p for p in panels_of(d) if p.get("type") != "row"]
    ids = [p.get("id") for p in panels_of(d)]
    check(len(ids) == len(set(ids)) and None not in ids,
          "panel ids are unique", ids)

    cells = {}
    for p in panels_of(d):
        g = p.get("gridPos", {})
        ok = all(isinstance(g.get(k), int) for k in "xywh") \
            and g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24
        check(ok, "panel %r sits on the 24-column grid" % p.get("title"), g)
        if not ok:
            continue
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                other = cells.setdefault((x, y), p.get("title"))
                if other != p.get("title"):
                    check(False, "panel %r does not overlap %r"
                          % (p.get("title"), other))
                    break

    exprs = []
    for p in panels:
        title = p.get("title")
        check(p.get("datasource", {}).get("uid") == "${datasource}",
              "panel %r uses ${datasource}" % title, p.get("datasource"))
        targets = p.get("targets", [])
        check(len(targets) > 0, "panel %r has queries" % title)
        refs = [t.get("refId") for t in targets]
        check(len(refs) == len(set(refs)), "panel %r: refIds unique" % title)
        for t in targets:
            expr = t.get("expr", "")
            where = "panel %r %s" % (title, t.get("refId"))
            check(t.get("datasource", {}).get("uid") == "${datasource}",
                  "%s uses ${datasource}" % where)
            for name, matchers in check_names(expr, where, DEFINED):
                check('job=~"$job"' in matchers
                      and 'instance=~"$instance"' in matchers,
                      "%s: %s filtered by $job and $instance" % (where, name),
                      expr)
            exprs.append(expr)

    joined = "\n".join(exprs)
    wanted = {
        "requests/s by endpoint":
            r"sum by \(endpoint\) \(rate\(http_requests_total\{",
        "error rate": r'status_code=~"5\.\."',
        "p50 latency":
            r"histogram_quantile\(0\.5, .*http_request_duration_seconds_bucket",
        "p99 latency":
            r"histogram_quantile\(0\.99, .*http_request_duration_seconds_bucket",
        "operations by type":
            r"sum by \(operation, status\) \(rate\(banking_operations_total",
        "accounts": r"accounts_active\{",
        "pool size": r"fastbank_worker_threads\{",
        "pool busy": r"fastbank_worker_threads_busy\{",
        "journal records per fdatasync":
            r"rate\(fastbank_journal_records_total\{.*\) / .*"
            r"rate\(fastbank_journal_fsyncs_total\{",
        "journal failed": r"fastbank_journal_failed\{",
        "fdatasync p99": r"histogram_quantile\(0\.99, .*"
                         r"fastbank_journal_fsync_duration_seconds_bucket",
    }
    for what, pattern in wanted.items():
        check(re.search(pattern, joined) is not None,
              "the dashboard shows %s" % what)
    note("%d panels, %d queries" % (len(panels), len(exprs)))


fbtest.run(test_names_list, test_prometheus_files, test_dashboard)
fbtest.finish()
