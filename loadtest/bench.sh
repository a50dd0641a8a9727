#!/usr/bin/env bash
# bench.sh: fastbank against its references, in one run, with one fb-load
# configuration, so that every figure can be read as a ratio to nginx alone
# measured minutes apart on the same machine.
#
#   loadtest/bench.sh BUILD_DIR [options]
#
# Servers (each on its own 127.0.0.1 port, started and stopped here):
#   nginx      nginx alone: return 200 with a fixed JSON (the ceiling)
#   echo       nginx -> fb-echo over a unix socket, no upstream keep-alive
#   echo-ka    nginx -> fb-echo with upstream { keepalive 16; } and
#              fastcgi_keep_conn on
#   floor      nginx -> fb-floor (one thread, epoll, no libfcgi, a fixed
#              reply) with the upstream keep-alive and FastCGI parameters
#              of the shipped configuration: the floor under any backend
#   fastbank   nginx/fb-run.sh --build BUILD_DIR --no-access-log (nginx +
#              the backend)
# Cases, for each server:
#   get-64, get-500   GET /accounts/1/balance at 64 and 500 connections
#   mix-64, mix-500   the seed mix (scenarios/seed.conf); the references
#                     get the same requests, without set-up and audit
#   read-500          scenarios/read-heavy.conf (80% balance, 5,000 accounts)
#   cont-500          scenarios/contention.conf (85% transfers, 100 accounts)
#   rate-64           the seed mix at a fixed rate: half of what the same
#                     server reached in mix-64 in this run (latency from
#                     the intended send time); needs mix-64 before it,
#                     unless --rate gives the rate
#
# Options:
#   --quick            ~1 minute: 2 s per case after 1 s of warm-up
#   --duration S       measured seconds per case [20]
#   --warmup S         unmeasured seconds before each case [2]
#   --servers LIST     comma-separated subset of the above
#   --cases LIST       comma-separated subset of the above
#   --out DIR          where results go, new or empty [BUILD_DIR/bench/DATE]
#   --port N           first port; the servers use N..N+4 [18480]
#   --nginx-workers N  worker_processes of every nginx [2]
#   --echo-threads N   fb-echo threads [32]
#   --fastbank-args S  extra backend options for fb-run.sh, e.g. "--fsync off"
#   --rate N           rate-64 at N requests/s for every server, to compare
#                      them under the same load
#   --load-batch       run fb-load under SCHED_BATCH (chrt --batch 0): woken
#                      by a reply, it then waits for a CPU instead of
#                      preempting the server that wrote it, as a client on
#                      another machine would (BENCHMARKS.md, "Why nginx
#                      spends more in front of fastbank"); latencies then
#                      include fb-load's own waits
#   --wrk              also measure the GET cases with wrk (-t1), to
#                      compare the two load generators
#   -h, --help
#
# Output: a table on stdout (and OUT/bench.txt), OUT/bench.json with every
# fb-load result, and each run's table, JSON and server logs in OUT/.
# Exit status: 0 if every run that was made exited 0, else 1.
set -euo pipefail

prog=bench.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
# value OPTION [VALUE]: exit 2 unless OPTION has a value.
value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
log() { printf '==> %s\n' "$*" >&2; }
usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac

build=$(cd "$1" 2>/dev/null && pwd) || die "no such build directory: $1"
shift

duration=20
warmup=2
servers=nginx,echo,echo-ka,floor,fastbank
cases=get-64,get-500,mix-64,mix-500,read-500,cont-500,rate-64
out=
port0=18480
nginx_workers=2
echo_threads=32
fastbank_args=
with_wrk=no
rate=
load_batch=no

while [ $# -gt 0 ]; do
    case "$1" in
        --quick)         duration=2; warmup=1 ;;
        --duration)      value "$@"; duration=$2; shift ;;
        --warmup)        value "$@"; warmup=$2; shift ;;
        --servers)       value "$@"; servers=$2; shift ;;
        --cases)         value "$@"; cases=$2; shift ;;
        --out)           value "$@"; out=$2; shift ;;
        --port)          value "$@"; port0=$2; shift ;;
        --nginx-workers) value "$@"; nginx_workers=$2; shift ;;
        --echo-threads)  value "$@"; echo_threads=$2; shift ;;
        --fastbank-args) value "$@"; fastbank_args=$2; shift ;;
        --wrk)           with_wrk=yes ;;
        --load-batch)    load_batch=yes ;;
        --rate)          value "$@"; rate=$2; shift ;;
        -h|--help)       usage; exit 0 ;;
        *)               die "unknown option: $1 (try --help)" ;;
    esac
    shift
done

is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_number "$duration" || die "--duration takes seconds"
is_number "$warmup" || die "--warmup takes seconds"
[[ $port0 =~ ^[0-9]+$ ]] && [ "$port0" -ge 1024 ] && [ "$port0" -le 65000 ] \
    || die "--port takes 1024..65000"
[[ $nginx_workers =~ ^([0-9]+|auto)$ ]] || die "--nginx-workers takes N or auto"
[[ $echo_threads =~ ^[0-9]+$ ]] || die "--echo-threads takes a number"
[ -z "$rate" ] || { [[ $rate =~ ^[0-9]+$ ]] && [ "$rate" -gt 0 ]; } \
    || die "--rate takes requests per second, a whole number above 0"

for s in ${servers//,/ }; do
    case "$s" in nginx|echo|echo-ka|floor|fastbank) ;; *) die "unknown server: $s" ;; esac
done
for c in ${cases//,/ }; do
    case "$c" in get-64|get-500|mix-64|mix-500|read-500|cont-500|rate-64) ;;
        *) die "unknown case: $c" ;; esac
done

fbload=$build/loadtest/fb-load
fbecho=$build/loadtest/fb-echo
fbfloor=$build/loadtest/fb-floor
fbrun=$top/nginx/fb-run.sh
seed=$here/scenarios/seed.conf
read_heavy=$here/scenarios/read-heavy.conf
contention=$here/scenarios/contention.conf

[ -x "$fbload" ] || die "$fbload not built: make -C $build loadtest/fb-load"
load=("$fbload")
if [ "$load_batch" = yes ]; then
    command -v chrt >/dev/null || die "--load-batch needs chrt: install the Debian package util-linux"
    load=(chrt --batch 0 "$fbload")
fi
[ -x "$fbecho" ] || die "$fbecho not built: make -C $build loadtest/fb-echo"
[ -x "$fbfloor" ] || die "$fbfloor not built: make -C $build loadtest/fb-floor"
[ -r "$seed" ] || die "$seed is missing"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || die "nginx not found: install the Debian package nginx"
# Not in nginx's environment: it takes NGINX for the sockets a binary
# upgrade hands it.  fb-run.sh gets it on its command line's environment
# (and takes it out again), so that fastbank's nginx is the references'.
export -n NGINX
# What /proc says the nginx processes are called (comm: the name the
# binary was run by, at most 15 bytes), to tell them from the backend's.
nginx_comm=$(basename "$NGINX" | cut -c1-15)
if [ "$with_wrk" = yes ]; then
    command -v wrk >/dev/null || die "--wrk: wrk not found (Debian package wrk)"
fi

if [ -z "$out" ]; then
    out=$build/bench/$(date -u +%Y%m%dT%H%M%SZ)
fi
# The table, rate-64's rate and the exit status are read back from the
# files in OUT: an earlier run's left there would pass for this run's
# wherever this one wrote none (a server or case not run, a run that
# failed early), and ratios would mix two runs.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
    die "--out $out is not empty: give a new or empty directory"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Everything started here is bounded twice: stopped by pid on exit, and
# given a lifetime after which it stops by itself should this script die.
ncases=$(echo "${cases//,/ }" | wc -w)
lifetime=$(awk -v n="$ncases" -v d="$duration" -v w="$warmup" \
               'BEGIN { printf "%d", n * (d + w + 60) + 120 }')
case_limit=$(awk -v d="$duration" -v w="$warmup" \
                 'BEGIN { printf "%d", d + w + 60 }')

work=$(mktemp -d /tmp/fb-bench.XXXXXX)

# The processes of the server being measured, all children of this shell:
# fb-echo, timeout(1) around nginx (it passes SIGTERM on to the master),
# fb-run.sh.  Nothing is ever signalled through a pid file.
srv_stop=()

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL; reaps it.
stop_pid() {
    local p=$1 i
    kill -TERM "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
    for ((i = 0; i < 50; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

stop_server() {
    local p
    for p in "${srv_stop[@]}"; do
        stop_pid "$p"
    done
    srv_stop=()
}

cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# As root, nginx and fb-echo run as nobody: unprivileged, and able to reach
# each other's unix socket.
asuser=()
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null || die "setpriv not found (util-linux)"
    asuser=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    chown nobody:nogroup "$work"
fi
chmod 755 "$work"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for TEST SECONDS: poll TEST (a command) until it succeeds.
wait_for() {
    local i n
    n=$(awk -v s="$2" 'BEGIN { printf "%d", s * 10 }')
    for ((i = 0; i < n; i++)); do
        if eval "$1"; then return 0; fi
        sleep 0.1
    done
    return 1
}

fastcgi_params() {
    if [ -r /etc/nginx/fastcgi_params ]; then
        echo "include /etc/nginx/fastcgi_params;"
    else
        # The same list as nginx's own conf/fastcgi_params, abridged.
        cat <<'EOF'
fastcgi_param  QUERY_STRING       $query_string;
        fastcgi_param  REQUEST_METHOD     $request_method;
        fastcgi_param  CONTENT_TYPE       $content_type;
        fastcgi_param  CONTENT_LENGTH     $content_length;
        fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
        fastcgi_param  REQUEST_URI        $request_uri;
        fastcgi_param  DOCUMENT_URI       $document_uri;
        fastcgi_param  SERVER_PROTOCOL    $server_protocol;
        fastcgi_param  REMOTE_ADDR        $remote_addr;
        fastcgi_param  SERVER_PORT        $server_port;
EOF
    fi
}

# nginx_conf DIR PORT KIND: KIND is static, fcgi, fcgi-ka or fcgi-floor.
nginx_conf() {
    local dir=$1 port=$2 kind=$3 upstream="" location
    case "$kind" in
        static)
            location="default_type  application/json;
            return  200 '{\"id\": 1, \"owner\": \"load 1\", \"balance\": 100000}';"
            ;;
        fcgi)
            location="$(fastcgi_params)
            fastcgi_pass  unix:$dir/echo.sock;"
            ;;
        fcgi-ka)
            upstream="upstream echo_ka {
        server  unix:$dir/echo.sock;
        keepalive  16;
    }"
            location="$(fastcgi_params)
            fastcgi_pass  echo_ka;
            fastcgi_keep_conn  on;"
            ;;
        fcgi-floor)
            upstream="upstream floor {
        server  unix:$dir/echo.sock;
        $(grep -E '^[[:space:]]*keepalive[[:space:]]' "$top/nginx/fastbank.conf")
    }"
            location="$(grep -E '^fastcgi_(param|pass_request_headers)' "$top/nginx/fastbank-fastcgi.conf")
            fastcgi_pass  floor;
            fastcgi_keep_conn  on;"
            ;;
    esac

    cat >"$dir/nginx.conf" <<EOF
# Generated by loadtest/bench.sh: reference server "$kind".
daemon  off;
worker_processes  $nginx_workers;
pid  $dir/nginx.pid;
error_log  stderr;

events {
    worker_connections  4096;
}

http {
    access_log  off;
    client_body_temp_path  $dir/tmp/body;
    proxy_temp_path  $dir/tmp/proxy;
    fastcgi_temp_path  $dir/tmp/fastcgi;
    uwsgi_temp_path  $dir/tmp/uwsgi;
    scgi_temp_path  $dir/tmp/scgi;

    $upstream

    server {
        listen  127.0.0.1:$port;

        location / {
            $location
        }
    }
}
EOF
}

# Set by start_*: fb-load's --pid options, and why a server did not start.
srv_pids=()
srv_note=

start_reference() {
    local name=$1 port=$2 kind=$3 dir=$work/$1 epid master
    mkdir -p "$dir/tmp"
    [ ${#asuser[@]} -gt 0 ] && chown -R nobody:nogroup "$dir"
    nginx_conf "$dir" "$port" "$kind"

    srv_pids=()
    srv_stop=()

    if [ "$kind" = fcgi-floor ]; then
        "${asuser[@]}" "$fbfloor" --socket "$dir/echo.sock" \
            --lifetime "$lifetime" >"$out/$name-fb-echo.log" 2>&1 &
    elif [ "$kind" != static ]; then
        "${asuser[@]}" "$fbecho" --socket "$dir/echo.sock" \
            --threads "$echo_threads" --lifetime "$lifetime" \
            >"$out/$name-fb-echo.log" 2>&1 &
    fi
    if [ "$kind" != static ]; then
        epid=$!
        srv_stop+=("$epid")
        wait_for "[ -S '$dir/echo.sock' ]" 10 \
            || { srv_note="fb-echo did not start (see $name-fb-echo.log)"; return 1; }
        srv_pids+=(--pid "$epid")
    fi

    # timeout(1) stops nginx should this script be killed before it can.
    timeout -k 5 "$lifetime" "${asuser[@]}" "$NGINX" -p "$dir/" \
        -c "$dir/nginx.conf" -e stderr >"$out/$name-nginx.log" 2>&1 &
    srv_stop=("$!" "${srv_stop[@]}")

    if ! wait_for "[ -s '$dir/nginx.pid' ] && port_busy $port" 10; then
        srv_note="nginx did not start (see $name-nginx.log)"
        return 1
    fi

    master=$(cat "$dir/nginx.pid")
    srv_pids+=(--pid-tree "$master")
}

start_fastbank() {
    local port=$1 dir=$work/fastbank rpid
    srv_pids=()
    srv_stop=()

    if [ ! -x "$fbrun" ]; then
        srv_note="NOT RUN: nginx/fb-run.sh is not in this tree"
        return 1
    fi

    mkdir -p "$dir"
    # shellcheck disable=SC2086  # word splitting of the options intended
    # No access log, as for the references; on the journal's disk its
    # writeback delays fdatasync (BENCHMARKS.md, "The access log").
    NGINX=$NGINX "$fbrun" --build "$build" --dir "$dir" --port "$port" \
        --lifetime "$lifetime" --no-access-log --nginx-workers "$nginx_workers" \
        ${fastbank_args:+-- $fastbank_args} \
        >"$out/fastbank-run.log" 2>&1 &
    rpid=$!
    srv_stop=("$rpid")

    if ! wait_for "grep -q 'serving on http://127.0.0.1:$port' '$out/fastbank-run.log'" 30
    then
        srv_note="NOT RUN: fb-run.sh did not report ready in 30 s (see fastbank-run.log)"
        return 1
    fi

    if [ ! -s "$dir/nginx.pid" ] || [ ! -s "$dir/fastbank.pid" ]; then
        srv_note="NOT RUN: fb-run.sh wrote no nginx.pid/fastbank.pid"
        return 1
    fi

    srv_pids=(--pid-tree "$(cat "$dir/nginx.pid")" --pid "$(cat "$dir/fastbank.pid")")

    # GET /accounts/1/balance needs an account 1: create one if the
    # store is empty (ids start at 1).
    "${load[@]}" --port "$port" --accounts 1 --fund 1 --mix 0,0,0,1 \
        --requests 1 --connections 1 --quiet >"$out/fastbank-prime.txt" 2>&1 \
        || { srv_note="NOT RUN: could not create account 1 (see fastbank-prime.txt)"; return 1; }
}

# run_case SERVER PORT CASE: one fb-load run; its JSON goes to OUT.
run_case() {
    local server=$1 port=$2 case=$3 conns=${3#*-} base rc=0
    local args=(--port "$port" --connections "$conns" --duration "$duration"
                --warmup "$warmup" --time-limit "$case_limit" --quiet
                --name "$server-$case" --json "$out/$server-$case.json"
                "${srv_pids[@]}")

    case "$case" in
        get-*) args+=(--get /accounts/1/balance) ;;
        mix-*|read-*|cont-*|rate-*)
            case "$case" in
                read-*) args+=(--scenario "$read_heavy") ;;
                cont-*) args+=(--scenario "$contention") ;;
                *)      args+=(--scenario "$seed") ;;
            esac
            [ "$server" = fastbank ] || args+=(--no-setup --no-audit)
            ;;
    esac

    if [[ $case == rate-* ]] && [ -n "$rate" ]; then
        args+=(--rate "$rate")
    elif [[ $case == rate-* ]]; then
        base=$out/$server-mix-$conns.json
        if [ ! -s "$base" ]; then
            log "$server $case: no mix-$conns result in this run to take half of"
            echo 2 >"$out/$server-$case.rc"
            return 0
        fi
        args+=(--rate "$(field "$base" rps | awk '{ printf "%d", $1 / 2 }')")
    fi

    # Other work on the machine moves every figure: keep a record of it.
    cut -d' ' -f1 /proc/loadavg >"$out/$server-$case.load"

    log "$server $case: fb-load ${args[*]}"
    "${load[@]}" "${args[@]}" >"$out/$server-$case.txt" 2>&1 || rc=$?
    echo "$rc" >"$out/$server-$case.rc"
    [ "$rc" -eq 0 ] || log "$server $case: fb-load exited $rc (see $server-$case.txt)"

    if [ "$with_wrk" = yes ] && [[ $case == get-* ]]; then
        log "$server $case: wrk -t1 -c$conns -d${duration}s --latency"
        wrk -t1 -c"$conns" -d"${duration}s" --latency \
            "http://127.0.0.1:$port/accounts/1/balance" \
            >"$out/$server-$case.wrk" 2>&1 || true
    fi
    return 0
}

# field FILE KEY: a number from the one-line "summary" of an fb-load JSON.
field() {
    sed -n 's/.*"summary": {\(.*\)},*$/\1/p' "$1" \
        | tr ',' '\n' | sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p"
}

# proc_sum FILE WHO SCALE KEY...: the KEYs of the server processes that
# fb-load sampled (each on a line of its own), summed, times SCALE, per
# response: WHO "nginx" for those named as nginx's binary, "other" for the
# rest (the backend), so that the CPU ratio and the context switches split
# into nginx's part and the backend's.  Nothing when no such process has
# the figure (nginx alone has no backend; a null was not measured).
proc_sum() {
    local f=$1 who=$2 scale=$3
    shift 3
    awk -v n="$(field "$f" responses)" -v who="$who" -v scale="$scale" \
        -v keys="$*" -v comm="\"comm\": \"$nginx_comm\"" '
        BEGIN { nk = split(keys, k, " ") }
        /^ *\{"pid": / && (index($0, comm) > 0) == (who == "nginx") {
            for (i = 1; i <= nk; i++)
                if (match($0, "\"" k[i] "\": [0-9.]+")) {
                    s += substr($0, RSTART + length(k[i]) + 4, RLENGTH - length(k[i]) - 4)
                    m++
                }
        }
        END { if (n + 0 > 0 && m > 0) printf "%.3f", s * scale / n }
    ' "$f"
}

# wrk_field FILE rps|p50|p99|max: in req/s or microseconds.
wrk_field() {
    awk -v want="$2" '
        function us(v) {
            if (v ~ /us$/) return v + 0;
            if (v ~ /ms$/) return v * 1000;
            if (v ~ /s$/)  return v * 1000000;
            return v;
        }
        /^Requests\/sec:/       { if (want == "rps") print $2 }
        /^ +50%/                { if (want == "p50") print us($2) }
        /^ +99%/                { if (want == "p99") print us($2) }
        /^ +Latency /           { if (want == "max") print us($4) }
    ' "$1"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "results in $out"
log "fb-load per case: --duration $duration --warmup $warmup; servers: $servers; cases: $cases"

declare -A port_of=([nginx]=$port0 [echo]=$((port0 + 1))
                    [echo-ka]=$((port0 + 2)) [fastbank]=$((port0 + 3))
                    [floor]=$((port0 + 4)))
declare -A kind_of=([nginx]=static [echo]=fcgi [echo-ka]=fcgi-ka
                    [floor]=fcgi-floor)
declare -A note_of=()

for server in ${servers//,/ }; do
    port=${port_of[$server]}
    srv_note=

    if port_busy "$port"; then
        note_of[$server]="NOT RUN: port $port is in use"
        log "$server: ${note_of[$server]}"
        continue
    fi

    log "$server: starting on 127.0.0.1:$port"
    started=yes
    if [ "$server" = fastbank ]; then
        start_fastbank "$port" || started=no
    else
        start_reference "$server" "$port" "${kind_of[$server]}" || started=no
    fi

    if [ "$started" = no ]; then
        note_of[$server]=$srv_note
        log "$server: $srv_note"
        stop_server
        continue
    fi

    for case in ${cases//,/ }; do
        run_case "$server" "$port" "$case"
    done

    stop_server
done

# The table: each figure and its ratio to nginx alone in the same case.
report() {
    local case server f base_rps base_p50 base_p99 base_max base_cpu
    printf 'fastbank benchmark, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'machine: %s, %s CPUs, %s\n' \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
        "$(nproc)" "$(uname -sr)"
    printf 'fb-load: --duration %s --warmup %s (GET /accounts/1/balance, or the seed mix)%s\n' \
        "$duration" "$warmup" \
        "$([ "$load_batch" = no ] || echo ', under SCHED_BATCH (--load-batch)')"
    printf 'fastbank: nginx/fb-run.sh --no-access-log, otherwise defaults%s\n' \
        "${fastbank_args:+, backend options: $fastbank_args}"
    [ -z "$rate" ] || printf 'rate-64: %s req/s for every server (--rate)\n' "$rate"
    printf 'load average (1, 5, 15 min): %s at the start, %s at the end\n' \
        "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'x: ratio to nginx alone (the "nginx" row) in the same case\n'
    printf "ngx-x, be-x: cpu-us's x split: nginx's processes (%s), the others' (the backend's)\n" \
        "$nginx_comm"
    printf 'ngx-cs, be-cs: context switches per request (voluntary + involuntary), the same split\n\n'
    printf '%-8s %-9s %8s %5s %8s %6s %8s %6s %9s %6s %6s %5s %7s %6s %6s %6s %6s %6s %s\n' \
        case server req/s x p50-ms x p99-ms x max-ms x t/o 5xx cpu-us x ngx-x be-x ngx-cs be-cs notes

    for case in ${cases//,/ }; do
        f=$out/nginx-$case.json
        base_rps= base_p50= base_p99= base_max= base_cpu=
        if [ -s "$f" ]; then
            base_rps=$(field "$f" rps); base_p50=$(field "$f" p50_us)
            base_p99=$(field "$f" p99_us); base_max=$(field "$f" max_us)
            base_cpu=$(field "$f" server_cpu_us_per_req)
        fi

        for server in ${servers//,/ }; do
            f=$out/$server-$case.json
            if [ -n "${note_of[$server]:-}" ] || [ ! -s "$f" ]; then
                printf '%-8s %-9s %s\n' "$case" "$server" \
                    "${note_of[$server]:-no result (see $server-$case.txt)}"
                continue
            fi

            awk -v c="$case" -v s="$server" \
                -v rps="$(field "$f" rps)" -v p50="$(field "$f" p50_us)" \
                -v p99="$(field "$f" p99_us)" -v mx="$(field "$f" max_us)" \
                -v to="$(field "$f" timeouts)" -v e5="$(field "$f" status_5xx)" \
                -v err="$(field "$f" errors)" -v cpu="$(field "$f" server_cpu_us_per_req)" \
                -v ngx="$(proc_sum "$f" nginx 1000000 cpu_s)" \
                -v ngxcs="$(proc_sum "$f" nginx 1 csw_voluntary csw_involuntary)" \
                -v becs="$(proc_sum "$f" other 1 csw_voluntary csw_involuntary)" \
                -v unsent="$(field "$f" unsent)" \
                -v audit="$(field "$f" audit)" -v rc="$(cat "$out/$server-$case.rc")" \
                -v brps="$base_rps" -v bp50="$base_p50" -v bp99="$base_p99" \
                -v bmax="$base_max" -v bcpu="$base_cpu" '
                function r(a, b) { return (b + 0 > 0 && a != "" && a != "null") ? sprintf("%.2f", a / b) : "-" }
                function be(a, n) { return (a == "" || a == "null" || n == "") ? "" : a - n }
                function cs(a) { return a == "" ? "-" : sprintf("%.2f", a) }
                BEGIN {
                    note = "";
                    if (audit != "skipped") note = "audit " audit;
                    if (err + 0 > 0) note = note (note ? ", " : "") err " conn errors";
                    if (unsent + 0 > 0) note = note (note ? ", " : "") unsent " sends due, never made";
                    if (rc + 0 != 0) note = note (note ? ", " : "") "exit " rc;
                    printf "%-8s %-9s %8.0f %5s %8.3f %6s %8.3f %6s %9.3f %6s %6d %5d %7s %6s %6s %6s %6s %6s %s\n",
                        c, s, rps, r(rps, brps), p50 / 1000, r(p50, bp50),
                        p99 / 1000, r(p99, bp99), mx / 1000, r(mx, bmax),
                        to, e5, (cpu == "null" ? "-" : sprintf("%.1f", cpu)),
                        r(cpu, bcpu), r(ngx, bcpu), r(be(cpu, ngx), bcpu),
                        cs(ngxcs), cs(becs), note
                }'

            if [ -s "$out/$server-$case.wrk" ]; then
                awk -v c="$case" -v s="$server" \
                    -v rps="$(wrk_field "$out/$server-$case.wrk" rps)" \
                    -v p50="$(wrk_field "$out/$server-$case.wrk" p50)" \
                    -v p99="$(wrk_field "$out/$server-$case.wrk" p99)" \
                    -v mx="$(wrk_field "$out/$server-$case.wrk" max)" '
                    BEGIN {
                        printf "%-8s %-9s %8.0f %5s %8.3f %6s %8.3f %6s %9.3f %6s %6s %5s %7s %6s %6s %6s %6s %6s %s\n",
                            c, "  (wrk)", rps, "", p50 / 1000, "", p99 / 1000, "",
                            mx / 1000, "", "", "", "", "", "", "", "", "", "same server, wrk -t1"
                    }'
            fi
        done
    done
}

report | tee "$out/bench.txt"

# bench.json: the settings, then every run's own fb-load JSON.
{
    printf '{\n  "tool": "bench.sh",\n  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "machine": {"cpus": %s, "kernel": "%s"},\n' "$(nproc)" "$(uname -r)"
    printf '  "settings": {"duration_s": %s, "warmup_s": %s, "nginx_workers": "%s", "echo_threads": %s, "load_batch": %s, "rate": %s},\n' \
        "$duration" "$warmup" "$nginx_workers" "$echo_threads" \
        "$([ "$load_batch" = yes ] && echo true || echo false)" "${rate:-null}"
    printf '  "runs": ['
    sep=
    for case in ${cases//,/ }; do
        for server in ${servers//,/ }; do
            f=$out/$server-$case.json
            printf '%s\n    {"server": "%s", "case": "%s", ' "$sep" "$server" "$case"
            if [ -z "${note_of[$server]:-}" ] && [ -s "$f" ]; then
                printf '"run": true, "exit_code": %s, "loadavg_before": %s, "fb_load": ' \
                    "$(cat "$out/$server-$case.rc")" "$(cat "$out/$server-$case.load")"
                sed 's/^/    /' "$f" | sed '1s/^ *//'
                printf '    }'
            else
                note=${note_of[$server]:-no result}
                printf '"run": false, "note": "%s"}' "${note//\"/\'}"
            fi
            sep=,
        done
    done
    printf '\n  ]\n}\n'
} >"$out/bench.json"

log "wrote $out/bench.txt and $out/bench.json"

status=0
for f in "$out"/*.rc; do
    [ -e "$f" ] || continue
    [ "$(cat "$f")" = 0 ] || status=1
done
exit "$status"
