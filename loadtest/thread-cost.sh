#!/usr/bin/env bash
# thread-cost.sh: where the backend's CPU goes, thread by thread.  Starts
# fastbank behind nginx (nginx/fb-run.sh), sends a fixed number of
# requests with fb-load, and prints for each backend thread (fb-worker-N,
# fb-journal, fb-snapshot) and for nginx's workers taken together its CPU
# time and its voluntary and involuntary context switches per request,
# from /proc/PID/task/TID/stat and status read before and after; then the
# journal's writes and fdatasyncs.
#
#   loadtest/thread-cost.sh BUILD_DIR [options]
#
#   --case C           get-64, get-500, mix-64, mix-500, read-500 or
#                      cont-500 (as in bench.sh) [mix-64]
#   --requests N       requests to send [100000]
#   --port N           [18590]
#   --fastbank-args S  extra backend options for fb-run.sh, e.g.
#                      "--fsync off" or "--threads 1"
#
# CPU time comes in clock ticks (10 ms): send enough requests that every
# thread that matters has hundreds of them.
set -euo pipefail

prog=thread-cost.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
# value OPTION [VALUE]: exit 2 unless OPTION has a value.
value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

[ $# -ge 1 ] || { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$(cd "$1" 2>/dev/null && pwd) || die "no such build directory: $1"
shift

case_=mix-64
requests=100000
port=18590
fastbank_args=

while [ $# -gt 0 ]; do
    case "$1" in
        --case)          value "$@"; case_=$2; shift ;;
        --requests)      value "$@"; requests=$2; shift ;;
        --port)          value "$@"; port=$2; shift ;;
        --fastbank-args) value "$@"; fastbank_args=$2; shift ;;
        *)               die "unknown option: $1" ;;
    esac
    shift
done

case "$case_" in
    get-*)  what=(--get /accounts/1/balance) ;;
    mix-*)  what=(--scenario "$here/scenarios/seed.conf") ;;
    read-*) what=(--scenario "$here/scenarios/read-heavy.conf") ;;
    cont-*) what=(--scenario "$here/scenarios/contention.conf") ;;
    *)      die "unknown case: $case_" ;;
esac
conns=${case_#*-}

fbload=$build/loadtest/fb-load
[ -x "$fbload" ] || die "$fbload not built: make -C $build loadtest/fb-load"
[ -x "$build/fcgi/fastbank" ] || die "$build/fcgi/fastbank not built"

work=$(mktemp -d /tmp/fb-tcost.XXXXXX)
# shellcheck source=loadtest/fb-stack.sh
. "$here/fb-stack.sh"
trap 'stack_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
# fb-run.sh stops everything by itself after an hour should this script
# die; info-level logging for the journal's counters at the stop.
# shellcheck disable=SC2086  # word splitting of the options intended
stack_start "$build" "$port" 3600 "$work/run.log" --log-level info \
    $fastbank_args
bpid=$stack_bpid

# One account for the GET cases (the mixes make their own).
"$fbload" --port "$port" --accounts 1 --fund 1 --mix 0,0,0,1 --requests 1 \
    --connections 1 --quiet >/dev/null

# nginx's workers: the children of its master (the master has one thread).
nworkers=$(cat "/proc/$stack_npid/task/$stack_npid/children" 2>/dev/null)
[ -n "$nworkers" ] || die "no nginx workers under pid $stack_npid"

# tid comm voluntary nonvoluntary ticks, one line per thread; nginx's
# workers as "nginx-PID".
sample() {
    local t
    for t in /proc/"$bpid"/task/* $(printf '/proc/%s ' $nworkers); do
        printf '%s %s %s %s\n' "${t##*/}" \
            "$(case $t in /proc/$bpid/*) cat "$t/comm" ;;
                          *) echo "nginx-${t##*/}" ;; esac)" \
            "$(awk '/^voluntary_ctxt/ { v = $2 } /^nonvoluntary_ctxt/ { n = $2 }
                    END { print v, n }' "$t/status")" \
            "$(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')"
    done | sort -n
}

sample >"$work/before"
"$fbload" --port "$port" --connections "$conns" --requests "$requests" \
    --warmup 0 --quiet "${what[@]}" >"$work/load.txt" 2>&1 \
    || { cat "$work/load.txt" >&2; die "fb-load failed"; }
sample >"$work/after"

hz=$(getconf CLK_TCK)
printf '%s, %s requests, backend options: %s\n' "$case_" "$requests" \
    "${fastbank_args:-(defaults)}"
grep -E '^result' "$work/load.txt" || true
join "$work/before" "$work/after" | awk -v n="$requests" -v hz="$hz" '
    {
        cpu = ($9 - $5) / hz * 1e6 / n
        vol = ($7 - $3) / n; inv = ($8 - $4) / n
        if ($2 ~ /^nginx-/) {
            nc += cpu; nv += vol; ni += inv
        } else {
            tc += cpu; tv += vol; ti += inv
        }
        printf "  %-14s cpu %6.2f us/request  switches/request: voluntary %.3f, involuntary %.3f\n", $2, cpu, vol, inv
    }
    END {
        printf "  %-14s cpu %6.2f us/request  switches/request: voluntary %.3f, involuntary %.3f\n", "backend", tc, tv, ti
        printf "  %-14s cpu %6.2f us/request  switches/request: voluntary %.3f, involuntary %.3f\n", "nginx", nc, nv, ni
        printf "  %-14s cpu %6.2f us/request  switches/request: voluntary %.3f, involuntary %.3f\n", "both", tc + nc, tv + nv, ti + ni
    }'

stack_stop
grep -h "journal stopped" "$work/run.log" | sed 's/^.*info: /  /' || true
