#!/bin/sh
# test-bench-out: loadtest/bench.sh writes its results only into a
# directory of its own.  Given an --out that already holds results (an
# earlier run's nginx row, say), it must refuse before starting anything:
# its ratios, the rate-64 case's rate and its exit status would otherwise
# be read from whatever files of the earlier run this one did not replace.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
. "$top_srcdir/tests/fbtest.sh"
fb_find_bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fb-bench-out.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# An earlier run's result, as bench.sh would have left it.
out=$tmp/out
mkdir -p "$out"
stale='{"summary": {"name": "nginx-get-64", "rps": 1.0, "exit_code": 0},'
printf '%s\n' "$stale" >"$out/nginx-get-64.json"
echo 0 >"$out/nginx-get-64.rc"

# A port nothing listens on, should bench.sh start its servers anyway.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18480)
[ "$port" -ge 1024 ] && [ "$port" -le 65000 ] || port=18480

rc=0
log=$(timeout 120 bash "$bench" "$top_builddir" --out "$out" --servers nginx \
          --cases get-64 --duration 0.2 --warmup 0 --port "$port" 2>&1) || rc=$?

if [ "$rc" -eq 2 ]; then
    ok "bench.sh --out DIR with an earlier run's results: exit 2"
else
    fail "bench.sh --out DIR with an earlier run's results: exit 2 (got $rc)" "$log"
fi

if printf '%s' "$log" | grep -q 'not empty'; then
    ok "it says why"
else
    fail "it says why" "$log"
fi

if [ ! -e "$out/bench.txt" ] && [ "$(cat "$out/nginx-get-64.json")" = "$stale" ]; then
    ok "nothing was run or written there"
else
    fail "nothing was run or written there" "$(ls -l "$out")"
fi

fb_summary
