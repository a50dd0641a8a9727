#!/bin/sh
# test-bench-table: one short loadtest/bench.sh run of nginx alone, the
# floor and fastbank, and its table read back against the fb-load JSON it
# kept: the ratios are the JSON's figures divided by nginx alone's, and
# the CPU ratio splits into nginx's processes (ngx-x) and the rest (be-x),
# and so do the context switches per request (ngx-cs, be-cs).
# nginx runs by another name (NGINX, a link) with one worker
# (--nginx-workers 1): every server's nginx must be that one with one
# worker, fastbank's too, and be counted as nginx.  No figure is judged:
# the machine is shared, only the arithmetic is checked.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
. "$top_srcdir/tests/fbtest.sh"
fb_find_bench
command -v python3 >/dev/null \
    || { echo "ERROR: python3 not found: install the Debian package python3" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fb-bench-table.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# bench.sh runs the references' nginx as nobody when it is root: the link
# must be reachable by anyone.
mkdir "$tmp/bin"
ln -s "$nginx" "$tmp/bin/fb-test-nginx"
chmod 755 "$tmp" "$tmp/bin"
export NGINX=$tmp/bin/fb-test-nginx

# bench.sh takes five ports from --port on: five free in a row, below the
# kernel's ephemeral range (other tests bind port 0 and connect from it).
free_ports() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 32000)
    socks = []
    try:
        for p in range(base, base + 5):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
}

# run_bench NAME ARGS...: bench.sh with ARGS into $tmp/NAME-TRY; sets out,
# rc and log.  A port taken between the look and bench.sh's start makes
# it report "NOT RUN: port N is in use": try other ports then, three
# times at most.
run_bench() {
    local name=$1 try
    shift
    for try in 1 2 3; do
        port=$(free_ports)
        [ -n "$port" ] || { echo "ERROR: no five free ports in a row" >&2; exit 99; }
        out=$tmp/$name-$try
        rc=0
        log=$(timeout 120 bash "$bench" "$top_builddir" --out "$out" \
                  --nginx-workers 1 --port "$port" "$@" 2>&1) || rc=$?
        grep -q 'NOT RUN: port' "$out/bench.txt" 2>/dev/null || break
    done
}

run_bench table --servers nginx,floor,fastbank --cases get-64 --duration 1 \
    --warmup 0
table_out=$out

if [ "$rc" -eq 0 ] && [ -s "$out/bench.txt" ]; then
    ok "bench.sh ran nginx alone, the floor and fastbank: exit 0, a table"
else
    fail "bench.sh ran nginx alone, the floor and fastbank: exit 0, a table (got $rc)" \
         "$log"
    fb_summary
    exit 1
fi

# Every ratio of the table, recomputed from the JSON fb-load wrote.
check=$(python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
rows = {}
header = None
for line in open(out + "/bench.txt"):
    f = line.split()
    if f[:2] == ["case", "server"]:
        # Each "x" is the ratio of the column before it.
        header = [c if c != "x" else f[i - 1] + " x" for i, c in enumerate(f)]
    elif header and len(f) >= len(header) - 1 and f[0] == "get-64":
        rows[f[1]] = dict(zip(header, f))
if header is None or not {"ngx-x", "be-x", "ngx-cs", "be-cs"} <= set(header):
    print("FAIL no ngx-x, be-x, ngx-cs and be-cs columns:", header)
    sys.exit(0)

def load(server):
    d = json.load(open(out + "/" + server + "-get-64.json"))
    n = d["result"]["responses"]
    procs = d["servers"]["processes"]
    total = sum(p["cpu_s"] for p in procs) * 1e6 / n
    ngx = sum(p["cpu_s"] for p in procs if p["comm"] == "fb-test-nginx") * 1e6 / n
    # None where no process of the group was sampled (nginx alone has
    # no backend): the table then says "-", not 0.
    cs = {True: None, False: None}
    for p in procs:
        g = p["comm"] == "fb-test-nginx"
        cs[g] = (cs[g] or 0) + p["csw_voluntary"] + p["csw_involuntary"]
    named = sorted(p["comm"] for p in procs)
    per = {g: None if v is None else v / n for g, v in cs.items()}
    return d, total, ngx, named, per[True], per[False]

base, base_total = load("nginx")[:2]
others = {"nginx": [], "floor": ["fb-floor"], "fastbank": ["fastbank"]}
for server in ("nginx", "floor", "fastbank"):
    row = rows.get(server)
    if row is None:
        print("FAIL no row for", server)
        continue
    d, total, ngx, named, ngx_cs, be_cs = load(server)
    # nginx's master and its one worker, and the backend.
    if named != sorted(["fb-test-nginx"] * 2 + others[server]):
        print("FAIL %s: the processes sampled are %s" % (server, named))
    want = {
        "req/s x": d["result"]["rps"] / base["result"]["rps"],
        "cpu-us x": total / base_total,
        "ngx-x": ngx / base_total,
        "be-x": (total - ngx) / base_total,
    }
    # bench.sh divides the summary's rounded figures: allow 0.011.
    for col, v in want.items():
        if abs(float(row[col]) - v) > 0.011:
            print("FAIL %s %s: table %s, JSON %.3f" % (server, col, row[col], v))
    # counts per request, rounded to two places
    for col, v in (("ngx-cs", ngx_cs), ("be-cs", be_cs)):
        if v is None:
            if row[col] != "-":
                print("FAIL %s %s: table %s, no such process" % (server, col, row[col]))
        elif row[col] == "-" or abs(float(row[col]) - v) > 0.006:
            print("FAIL %s %s: table %s, JSON %.3f" % (server, col, row[col], v))
    print("ok %s: x %s, cpu x %s = ngx-x %s + be-x %s; switches %s + %s"
          % (server, row["req/s x"], row["cpu-us x"], row["ngx-x"], row["be-x"],
             row["ngx-cs"], row["be-cs"]))
EOF
) || check="$check
FAIL the check itself failed"

if printf '%s\n' "$check" | grep -q '^FAIL'; then
    fail "the table's ratios are the JSON's" "$check
$(cat "$out/bench.txt")"
else
    ok "the table's ratios are the JSON's"
    printf '%s\n' "$check" | sed 's/^/      /'
fi

# --rate: rate-64 at that rate for every server, with no mix-64 to halve.
run_bench rate --servers nginx,floor --cases rate-64 --rate 300 \
    --duration 0.5 --warmup 0
got=
for server in nginx floor; do
    got="$got $server:$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("%g/%d" % (d["config"]["rate"], d["exit_code"]))' \
        "$out/$server-rate-64.json" 2>/dev/null)"
done
if [ "$rc" -eq 0 ] && [ "$got" = " nginx:300/0 floor:300/0" ] \
    && [ "$(grep -c '^rate-64 ' "$out/bench.txt")" -eq 2 ] \
    && grep -q '^rate-64: 300 req/s for every server (--rate)$' "$out/bench.txt" \
    && grep -q '"load_batch": false, "rate": 300}' "$out/bench.json"; then
    ok "bench.sh --rate 300: rate-64 at 300 req/s for each server, no mix-64, and it says so"
else
    fail "bench.sh --rate 300: rate-64 at 300 req/s for each server, no mix-64, and it says so (exit $rc,$got)" \
         "$log"
fi

# --load-batch: fb-load ran under SCHED_BATCH, and says so; without it,
# under the policy it was started with (this test's).
run_bench batch --servers nginx --cases get-64 --duration 0.5 --warmup 0 \
    --load-batch
got=$(python3 -c 'import json, os, sys
names = {os.SCHED_OTHER: "other", os.SCHED_BATCH: "batch", os.SCHED_IDLE: "idle"}
mine = names.get(os.sched_getscheduler(0), "?")
plain = json.load(open(sys.argv[1]))["client"]["sched"]
batch = json.load(open(sys.argv[2]))["client"]["sched"]
print("ok" if (plain, batch) == (mine, "batch") else "%s %s, not %s batch" % (plain, batch, mine))' \
    "$table_out/nginx-get-64.json" "$out/nginx-get-64.json" 2>&1)
if [ "$rc" -eq 0 ] && [ "$got" = ok ] \
    && grep -q 'under SCHED_BATCH (--load-batch)' "$out/bench.txt"; then
    ok "bench.sh --load-batch: fb-load under SCHED_BATCH, in its JSON and the table"
else
    fail "bench.sh --load-batch: fb-load under SCHED_BATCH, in its JSON and the table (exit $rc, $got)" \
         "$log"
fi

fb_summary
