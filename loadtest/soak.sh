#!/usr/bin/env bash
# soak.sh: a long run of the seed mix against fastbank through nginx, with
# the backend's resident memory sampled as it goes: is RSS flat in the
# number of requests?
#
#   loadtest/soak.sh BUILD_DIR [options]
#
#   --requests N       requests to send [10m] (fb-load's k/m suffixes)
#   --connections N    [500]
#   --every S          seconds between RSS samples [10]
#   --port N           [18500]
#   --fastbank-args S  extra backend options for fb-run.sh
#   --out DIR          [BUILD_DIR/soak/DATE]
#
# Output: OUT/rss.csv (seconds, requests answered so far, VmRSS kB,
# VmHWM kB), fb-load's table and JSON, and a summary on stdout: RSS after
# the first tenth of the requests, at the end, and the largest sample.
# Exit status: fb-load's (non-zero also if the money audit failed).
set -euo pipefail

prog=soak.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
# value OPTION [VALUE]: exit 2 unless OPTION has a value.
value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

[ $# -ge 1 ] || { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$(cd "$1" 2>/dev/null && pwd) || die "no such build directory: $1"
shift

requests=10m
connections=500
every=10
port=18500
fastbank_args=
out=

while [ $# -gt 0 ]; do
    case "$1" in
        --requests)      value "$@"; requests=$2; shift ;;
        --connections)   value "$@"; connections=$2; shift ;;
        --every)         value "$@"; every=$2; shift ;;
        --port)          value "$@"; port=$2; shift ;;
        --fastbank-args) value "$@"; fastbank_args=$2; shift ;;
        --out)           value "$@"; out=$2; shift ;;
        *)               die "unknown option: $1" ;;
    esac
    shift
done

fbload=$build/loadtest/fb-load
[ -x "$fbload" ] || die "$fbload not built: make -C $build loadtest/fb-load"
[ -x "$build/fcgi/fastbank" ] || die "$build/fcgi/fastbank not built"

out=${out:-$build/soak/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

# shellcheck source=loadtest/fb-stack.sh
. "$here/fb-stack.sh"
trap stack_stop EXIT
trap 'exit 130' INT TERM
# A lifetime far beyond the run.
# shellcheck disable=SC2086  # word splitting of the options intended
stack_start "$build" "$port" 86400 "$out/fastbank-run.log" $fastbank_args
bpid=$stack_bpid
npid=$stack_npid

"$fbload" --port "$port" --scenario "$here/scenarios/seed.conf" \
    --connections "$connections" --requests "$requests" --warmup 0 \
    --pid-tree "$npid" --pid "$bpid" --json "$out/fb-load.json" \
    >"$out/fb-load.txt" 2>&1 &
lpid=$!

# Requests answered so far, from the backend's own counter.
answered() {
    curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null \
        | awk '/^http_requests_total/ { n += $NF } END { printf "%d", n }'
}

echo "seconds,requests,vmrss_kb,vmhwm_kb" >"$out/rss.csv"
t0=$(date +%s)
while kill -0 "$lpid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$bpid/status")
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$bpid/status")
    echo "$(( $(date +%s) - t0 )),$(answered),$rss,$hwm" >>"$out/rss.csv"
    sleep "$every"
done

rc=0
wait "$lpid" || rc=$?

awk -F, 'NR == 1 { next }
    { n++; t[n] = $1; q[n] = $2; r[n] = $3; if ($3 > max) max = $3 }
    END {
        if (n == 0) { print "no samples"; exit }
        last = q[n]; k = 1
        for (i = 1; i <= n; i++) if (q[i] >= last / 10) { k = i; break }
        printf "samples: %d over %d s, %d requests answered\n", n, t[n], q[n]
        printf "RSS after %d requests: %d kB; at the end: %d kB; largest: %d kB\n",
            q[k], r[k], r[n], max
        printf "growth from the first tenth to the end: %+d kB (%+.1f%%)\n",
            r[n] - r[k], (r[k] > 0 ? 100 * (r[n] - r[k]) / r[k] : 0)
    }' "$out/rss.csv" | tee "$out/summary.txt"
tail -n 30 "$out/fb-load.txt"
echo "results in $out"

exit "$rc"
