#!/usr/bin/env bash
# journal-bench.sh: the price of durability through nginx: the seed mix
# (scenarios/seed.conf, 500 connections) against fastbank with
# --fsync off and --fsync always, alternating, on the same machine.
#
#   loadtest/journal-bench.sh BUILD_DIR [options]
#
#   --rounds N         off/always pairs [3]
#   --duration S       measured seconds per run [20]
#   --warmup S         unmeasured seconds before each run [3]
#   --policies LIST    what each round runs, in order [off,always]
#                      (off, batch, always; always:T runs --threads T)
#   --port N           nginx's port [18580]
#   --out DIR          results [BUILD_DIR/journal-bench/DATE]
#
# Each run starts nginx and the backend with nginx/fb-run.sh on a fresh
# run (and data) directory, runs fb-load (set-up, measured window, audit),
# and stops them by pid.  Prints one line per run and, per round, the
# ratio of each policy's throughput to the first one's.
set -euo pipefail

prog=journal-bench.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
# value OPTION [VALUE]: exit 2 unless OPTION has a value.
value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
build=$(cd "$1" 2>/dev/null && pwd) || die "no such build directory: $1"
shift

rounds=3
duration=20
warmup=3
policies=off,always
port=18580
out=

while [ $# -gt 0 ]; do
    case "$1" in
        --rounds)   value "$@"; rounds=$2; shift ;;
        --duration) value "$@"; duration=$2; shift ;;
        --warmup)   value "$@"; warmup=$2; shift ;;
        --policies) value "$@"; policies=$2; shift ;;
        --port)     value "$@"; port=$2; shift ;;
        --out)      value "$@"; out=$2; shift ;;
        -h|--help)  usage; exit 0 ;;
        *)          die "unknown option: $1 (try --help)" ;;
    esac
    shift
done

load=$build/loadtest/fb-load
[ -x "$load" ] || die "$load not found: make loadtest/fb-load"
[ -x "$build/fcgi/fastbank" ] || die "$build/fcgi/fastbank not found: make"
out=${out:-$build/journal-bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

# run NAME POLICY[:THREADS]: one fb-run.sh + fb-load run; prints
# "rps p50_ms p99_ms audit exit".
run() {
    local name=$1 spec=$2 policy threads dir runpid line i bpid rc=0
    policy=${spec%%:*}
    threads=
    [ "$spec" = "$policy" ] || threads=${spec#*:}
    dir=$out/$name
    rm -rf "$dir"
    mkdir -p "$dir"

    "$top/nginx/fb-run.sh" --build "$build" --dir "$dir/run" --port "$port" \
        --lifetime $((duration + warmup + 300)) \
        ${threads:+--threads "$threads"} -- --fsync "$policy" \
        >"$dir/ready" 2>"$dir/fb-run.log" &
    runpid=$!

    for ((i = 0; i < 600; i++)); do
        line=$(head -n 1 "$dir/ready" 2>/dev/null || true)
        [ -z "$line" ] || break
        kill -0 "$runpid" 2>/dev/null || break
        sleep 0.1
    done
    [[ $line == "fastbank serving on"* ]] \
        || { kill "$runpid" 2>/dev/null; wait "$runpid" 2>/dev/null;
             echo "0 0 0 not-started 3"; return; }
    bpid=$(cat "$dir/run/fastbank.pid")

    "$load" --scenario "$top/loadtest/scenarios/seed.conf" --port "$port" \
        --duration "$duration" --warmup "$warmup" --pid "$bpid" \
        --json "$dir/load.json" -q >"$dir/load.txt" 2>&1 || rc=$?

    kill -TERM "$runpid" 2>/dev/null || true
    wait "$runpid" 2>/dev/null || true

    sed -n 's/.*"summary": *{\(.*\)}.*/\1/p' "$dir/load.json" | head -n 1 \
        | tr ',' '\n' | tr -d '" ' >"$dir/summary"
    get() { sed -n "s/^$1://p" "$dir/summary" | head -n 1; }
    printf '%s %s %s %s %s\n' "$(get rps)" \
        "$(awk -v u="$(get p50_us)" 'BEGIN { printf "%.2f", u / 1000 }')" \
        "$(awk -v u="$(get p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')" \
        "$(get audit)" "$rc"
}

IFS=, read -r -a plist <<<"$policies"

printf '# %s, seed mix, 500 connections, %s s measured after %s s, load average %s\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$duration" "$warmup" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/bench.txt"
printf '%-6s %-10s %10s %9s %9s %-10s %s\n' round policy req/s p50_ms \
    p99_ms audit ratio | tee -a "$out/bench.txt"

for ((r = 1; r <= rounds; r++)); do
    base=
    for p in "${plist[@]}"; do
        read -r rps p50 p99 audit rc <<<"$(run "r$r-${p/:/-t}" "$p")"
        if [ -z "$base" ]; then
            base=$rps
            ratio=1.00
        else
            ratio=$(awk -v a="$rps" -v b="$base" \
                    'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        fi
        printf '%-6s %-10s %10.0f %9s %9s %-10s %s\n' "$r" "$p" "$rps" \
            "$p50" "$p99" "$audit" "$ratio" | tee -a "$out/bench.txt"
    done
done

printf '# load average after: %s; results in %s\n' \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$out" | tee -a "$out/bench.txt"
