"""fbmetrics: what the metrics integration tests share.

- parse(text): a strict parser of Prometheus text exposition 0.0.4 that
  returns the samples and the list of everything wrong with the text (the
  same rules as tests/fb_expo.c: one HELP and one TYPE per name before its
  samples, a metric's lines together, no series twice, histograms with
  increasing le, cumulative buckets, +Inf equal to _count, a _sum).
- promtool(): the promtool binary, or a hard error (99) naming the Debian
  package prometheus; never a skip.
- defined_names(): every sample name the backend defines
  (tests/metrics-sample --names).
- selectors(expr): the metric names a PromQL expression selects, with the
  label matchers written for each.
"""

import math
import os
import re
import shutil
import subprocess

import fbtest

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_value_re = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_types = ("counter", "gauge", "histogram", "summary", "untyped")


def _value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not _value_re.match(text):
        raise ValueError(text)
    return float(text)


def _labels(s, pos):
    """Label pairs from s[pos:] (just past '{') to '}'; returns (pairs,
    end) or raises ValueError."""
    pairs = []
    if s[pos:pos + 1] == "}":
        return pairs, pos + 1
    while True:
        m = re.compile(LABEL).match(s, pos)
        if not m:
            raise ValueError("bad label name")
        name = m.group(0)
        pos = m.end()
        if s[pos:pos + 2] != '="':
            raise ValueError("label name not followed by =\"")
        pos += 2
        value = []
        while pos < len(s) and s[pos] != '"':
            if s[pos] == "\\":
                nxt = s[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("bad escape in a label value")
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                pos += 2
                continue
            value.append(s[pos])
            pos += 1
        if pos >= len(s):
            raise ValueError("unterminated label value")
        pairs.append((name, "".join(value)))
        pos += 1
        if s[pos:pos + 1] == ",":
            pos += 1
            continue
        if s[pos:pos + 1] == "}":
            return pairs, pos + 1
        raise ValueError("expected , or } after a label")


class Exposition:
    def __init__(self):
        self.samples = {}       # (name, frozenset(labels)) -> value
        self.raw = {}           # same key -> the value as written
        self.order = []         # keys in text order
        self.types = {}         # family -> type
        self.helps = {}         # family -> help text
        self.family_of = {}     # key -> family
        self.errors = []

    def get(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())))

    def series(self, name):
        """[(labels dict, value)] of every sample called name."""
        return [(dict(k[1]), v) for k, v in self.samples.items()
                if k[0] == name]

    def names(self):
        return {k[0] for k in self.samples}


def _owner(fam, ftype, name):
    if fam is None:
        return False
    if ftype == "histogram":
        return name in (fam + "_bucket", fam + "_sum", fam + "_count")
    return name == fam


def parse(text):
    e = Exposition()
    err = e.errors.append
    if not text.endswith("\n"):
        err("the text does not end with a newline")
    current = None
    closed = set()
    seen_samples = set()
    helps, types = {}, {}
    for ln, line in enumerate(text.split("\n")[:-1] if text.endswith("\n")
                              else text.split("\n"), 1):
        if line == "":
            continue
        if "\r" in line or "\0" in line:
            err("line %d: a CR or NUL" % ln)
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind = line[2:6]
            m = re.compile(NAME + " ").match(line, 7)
            if not m:
                err("line %d: %s without a name and text" % (ln, kind))
                continue
            fam = m.group(0)[:-1]
            rest = line[m.end():]
            if fam != current:
                if fam in closed or fam in helps or fam in types:
                    err("line %d: %s: lines apart from the rest of its "
                        "metric" % (ln, fam))
                if current is not None:
                    closed.add(current)
                current = fam
            if kind == "HELP":
                if fam in helps:
                    err("line %d: %s: a second HELP" % (ln, fam))
                if re.search(r"\\[^\\n]|\\$", rest):
                    err("line %d: %s: bad escape in HELP" % (ln, fam))
                helps[fam] = rest
            else:
                if fam in types:
                    err("line %d: %s: a second TYPE" % (ln, fam))
                if fam in seen_samples:
                    err("line %d: %s: TYPE after its samples" % (ln, fam))
                if rest not in _types:
                    err("line %d: %s: unknown type %r" % (ln, fam, rest))
                types[fam] = rest
            continue
        if line.startswith("#"):
            continue
        m = re.compile(NAME).match(line)
        if not m:
            err("line %d: not a sample: %r" % (ln, line))
            continue
        name, pos = m.group(0), m.end()
        pairs = []
        try:
            if line[pos:pos + 1] == "{":
                pairs, pos = _labels(line, pos + 1)
            if line[pos:pos + 1] != " ":
                raise ValueError("no value")
            raw = line[pos + 1:]
            value = _value(raw)
        except ValueError as x:
            err("line %d: %s: %s" % (ln, name, x))
            continue
        if len({k for k, _ in pairs}) != len(pairs):
            err("line %d: %s: a label twice" % (ln, name))
        key = (name, frozenset(pairs))
        if key in e.samples:
            err("line %d: %s%s twice" % (ln, name, dict(pairs)))
        if not _owner(current, types.get(current), name):
            err("line %d: %s: no TYPE before it, or apart from its metric's "
                "other lines" % (ln, name))
        else:
            seen_samples.add(current)
        e.samples[key] = value
        e.raw[key] = raw
        e.order.append(key)
        e.family_of[key] = current
    for fam in set(helps) | set(types):
        if fam not in types:
            err("%s: no TYPE" % fam)
        if fam not in helps:
            err("%s: no HELP" % fam)
    e.types, e.helps = types, helps
    _check_histograms(e)
    for key, v in e.samples.items():
        fam = e.family_of[key]
        if types.get(fam) == "counter" and not v >= 0:
            err("%s: a counter below zero" % key[0])
        if "le" in dict(key[1]) and (types.get(fam) != "histogram"
                                     or key[0] != fam + "_bucket"):
            err("%s: le on a sample that is not a bucket" % key[0])
    return e


def _check_histograms(e):
    for fam, t in e.types.items():
        if t != "histogram":
            continue
        groups = {}
        for key in e.order:
            name, labels = key
            if e.family_of[key] != fam or name != fam + "_bucket":
                continue
            d = dict(labels)
            le = d.pop("le", None)
            if le is None:
                e.errors.append("%s%s: a bucket without le" % (name, d))
                continue
            groups.setdefault(frozenset(d.items()), []).append(
                (le, e.samples[key]))
        for key in e.order:
            if key[0] in (fam + "_sum", fam + "_count") \
                    and key[1] not in groups:
                e.errors.append("%s%s: no buckets" % (key[0], dict(key[1])))
        for labels, buckets in groups.items():
            where = "%s%s" % (fam, dict(labels))
            prev_le, prev = -math.inf, 0
            for le, v in buckets:
                try:
                    lev = _value(le)
                except ValueError:
                    e.errors.append("%s: le=%r is not a number" % (where, le))
                    continue
                if not lev > prev_le:
                    e.errors.append("%s: le=%s not above the one before"
                                    % (where, le))
                if v < prev:
                    e.errors.append("%s: le=%s holds %s, less than the "
                                    "bucket before" % (where, le, v))
                prev_le, prev = lev, v
            if buckets[-1][0] != "+Inf":
                e.errors.append("%s: no le=\"+Inf\" bucket last" % where)
                continue
            count = e.samples.get((fam + "_count", labels))
            total = e.samples.get((fam + "_sum", labels))
            if count is None or total is None:
                e.errors.append("%s: no _sum or no _count" % where)
            elif count != buckets[-1][1]:
                e.errors.append("%s: _count %s but le=\"+Inf\" %s"
                                % (where, count, buckets[-1][1]))


def promtool():
    p = os.environ.get("PROMTOOL")
    if not p or not os.access(p, os.X_OK):
        p = shutil.which("promtool")
    if not p:
        fbtest.hard_error("promtool not found: install the Debian package "
                          "prometheus")
    return p


def prometheus():
    p = os.environ.get("PROMETHEUS")
    if not p or not os.access(p, os.X_OK):
        p = shutil.which("prometheus")
    if not p:
        fbtest.hard_error("prometheus not found: install the Debian package "
                          "prometheus")
    return p


def promtool_check_metrics(text):
    """(ok, output) of promtool check metrics on text, lint included."""
    r = subprocess.run([promtool(), "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def defined_names():
    exe = os.path.join(fbtest.BUILDDIR, "tests", "metrics-sample")
    if not os.access(exe, os.X_OK):
        fbtest.hard_error("%s not built (make check builds it)" % exe)
    out = subprocess.run([exe, "--names"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return set(out.split())


# PromQL words that can be followed by '{' or stand alone but are not
# metric names; only selectors written name{...} are looked at.
_selector_re = re.compile(r"(?<![a-zA-Z0-9_:\"$.])(" + NAME + r")\s*\{([^}]*)\}")


def selectors(expr):
    """[(metric name, matcher text)] for every name{...} in expr."""
    return [(m.group(1), m.group(2)) for m in _selector_re.finditer(expr)]


def bare_names(expr, known):
    """Names from known that expr uses without a {...} selector."""
    stripped = _selector_re.sub(" ", expr)
    stripped = re.sub(r'"[^"]*"', " ", stripped)
    words = set(re.findall(NAME, stripped))
    return words & known
