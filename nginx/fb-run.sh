#!/usr/bin/env bash
# fb-run.sh: run nginx and the fastbank backend from a private directory,
# without the system nginx service, with the configuration that ships in
# nginx/.  ./dev.sh serve, the integration tests and the benchmarks all
# start fastbank through this script, so they all exercise the shipped files.
#
# usage: fb-run.sh --build BUILD_DIR --dir RUN_DIR --port PORT
#                  [--threads N] [--lifetime SECONDS] [--limit-req]
#                  [--body-limit-nginx SIZE] [--config-only]
#                  [--data-dir DIR] [--no-access-log]
#                  [--nginx-workers N|auto] [-- extra fastbank options]
#
#   --build DIR          build tree holding fcgi/fastbank
#   --dir DIR            run directory: configuration, pid files, socket,
#                        logs and nginx's temporary files (created if needed)
#   --port PORT          nginx listens on 127.0.0.1:PORT
#   --threads N          passed to fastbank as --threads N
#   --lifetime SECONDS   stop everything after SECONDS (a safety net)
#   --limit-req          enable fastbank-limit-req.conf (429 over the limit)
#   --body-limit-nginx SIZE
#                        nginx's client_max_body_size instead of the shipped
#                        4k (e.g. 16k, so that the backend's own limit shows)
#   --config-only        write RUN_DIR's configuration and exit (--build is
#                        then optional)
#   --data-dir DIR       the backend's journal and snapshots (default
#                        RUN_DIR/data, kept from one run to the next)
#   --no-access-log      no RUN_DIR/logs/access.log (the benchmarks: on the
#                        journal's disk its writeback delays fdatasync)
#   --nginx-workers N    nginx's worker_processes, a number or auto [2]
#                        (loadtest/bench.sh gives every nginx the same)
#
# The backend reads no configuration file: it gets --config /dev/null, so
# that what it runs with is this command line and nothing of the machine's
# (a build configured with --sysconfdir=/etc would otherwise read an
# installed /etc/fastbank/fastbank.conf).  "-- --config FILE" names one.
#
# RUN_DIR/nginx.conf is generated from nginx/fastbank.conf (two lines
# replaced: the backend socket and the listen address; also
# client_max_body_size with --body-limit-nginx, and the limit_req_zone
# line and the include of fastbank-limit-req.conf, uncommented, with
# --limit-req), and
# nginx/fastbank-fastcgi.conf and nginx/fastbank-limit-req.conf are copied
# as they are into RUN_DIR/snippets/, where fastbank.conf's includes find
# them, as in Debian's /etc/nginx.
#
# Once /healthz answers through nginx it prints
#   fastbank serving on http://127.0.0.1:PORT (nginx pid N, backend pid M)
# and stays in the foreground.  SIGINT, SIGTERM, SIGHUP or the end of the
# lifetime stop nginx (gracefully) and then the backend, each by its pid, and
# the script exits 0, or 1 if either of them exited with a non-zero status
# (a sanitizer's report at exit, for one).  If either process dies on its
# own, the script stops the other one and exits 1.  Each process's exit status is reported on
# stderr as "fb-run.sh: <name> (pid N) exited with status S".
set -euo pipefail

prog=fb-run.sh
here=$(cd "$(dirname "$0")" && pwd)

usage() {
    sed -n '7,30p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

say() {
    printf '%s: %s\n' "$prog" "$*" >&2
}

build=
dir=
port=
threads=
lifetime=
limit_req=no
body_limit=
config_only=no
data_dir=
access_log=yes
nginx_workers=2
extra=()

while [ $# -gt 0 ]; do
    case $1 in
        --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
        --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
        --port) [ $# -ge 2 ] || usage; port=$2; shift 2 ;;
        --threads) [ $# -ge 2 ] || usage; threads=$2; shift 2 ;;
        --lifetime) [ $# -ge 2 ] || usage; lifetime=$2; shift 2 ;;
        --limit-req) limit_req=yes; shift ;;
        --body-limit-nginx) [ $# -ge 2 ] || usage; body_limit=$2; shift 2 ;;
        --config-only) config_only=yes; shift ;;
        --data-dir) [ $# -ge 2 ] || usage; data_dir=$2; shift 2 ;;
        --no-access-log) access_log=no; shift ;;
        --nginx-workers) [ $# -ge 2 ] || usage; nginx_workers=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage ;;
        *) say "unknown option: $1"; usage ;;
    esac
done

[ -n "$dir" ] && [ -n "$port" ] || usage
[ -n "$build" ] || [ "$config_only" = yes ] || usage

[[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] \
    || die "--port takes a port number, not '$port'"
[ -z "$threads" ] || [[ $threads =~ ^[0-9]+$ ]] \
    || die "--threads takes a number, not '$threads'"
[[ $nginx_workers =~ ^([1-9][0-9]*|auto)$ ]] \
    || die "--nginx-workers takes a number from 1, or auto, not '$nginx_workers'"
[ -z "$lifetime" ] || [[ $lifetime =~ ^[0-9]+$ ]] \
    || die "--lifetime takes a number of seconds, not '$lifetime'"
[ -z "$body_limit" ] || [[ $body_limit =~ ^[0-9]+[kKmM]?$ ]] \
    || die "--body-limit-nginx takes a size such as 16k, not '$body_limit'"

nginx_bin=${NGINX:-}
if [ -z "$nginx_bin" ]; then
    nginx_bin=$(PATH=$PATH:/usr/sbin:/usr/local/sbin command -v nginx || true)
fi
[ -n "$nginx_bin" ] && [ -x "$nginx_bin" ] \
    || die "nginx not found: install the Debian package nginx"
# nginx takes NGINX in its environment for the sockets a binary upgrade
# hands it ("invalid socket number" and an [emerg] line otherwise): the
# name of the binary stops here.
unset NGINX

backend=
if [ "$config_only" = no ]; then
    backend=$(cd "$build" 2>/dev/null && pwd)/fcgi/fastbank \
        || die "no build directory '$build'"
    [ -x "$backend" ] || die "$backend not found: build fastbank first (make, or ./dev.sh build)"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# The run directory's path is written into nginx.conf unquoted and is a
# unix socket's path: keep it plain and short.
[[ $dir =~ ^[A-Za-z0-9._/@+,:~=-]+$ ]] \
    || die "run directory '$dir': use a path without spaces or shell/nginx special characters"
sock=$dir/fastbank.sock
[ ${#sock} -le 100 ] || die "socket path $sock is too long for a unix socket (over 100 bytes): use a shorter --dir"

# Refuse to start twice on the same directory.
for f in nginx.pid fastbank.pid; do
    if [ -s "$dir/$f" ]; then
        pid=$(cat "$dir/$f")
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
           && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir"; then
            die "already running in $dir ($f: pid $pid)"
        fi
        rm -f "$dir/$f"
    fi
done

# Open files: 500 and more client connections plus as many upstream
# connections per worker, and the backend's connections.  Raise the soft
# limit as far as the hard limit allows; nginx and the backend inherit it.
nofile=8192
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then
    nofile=$hard
fi
ulimit -Sn "$nofile" 2>/dev/null || nofile=$(ulimit -Sn)
if [ "$nofile" -lt 2048 ]; then
    say "warning: the open files limit is $nofile; 500 concurrent clients need about 2048 (raise it with ulimit -Hn)"
fi
worker_connections=4096
[ "$nofile" -ge "$worker_connections" ] || worker_connections=$nofile

# subst_lines FILE OLD NEW [OLD NEW ...]: print FILE with each line equal to
# OLD replaced by NEW.  Every OLD must occur exactly once, so that a change
# to the shipped file cannot silently leave a line unreplaced.
subst_lines() {
    local file=$1; shift
    local -a old=() new=() seen=()
    local i line out
    while [ $# -ge 2 ]; do
        old+=("$1"); new+=("$2"); seen+=(0); shift 2
    done
    while IFS= read -r line || [ -n "$line" ]; do
        out=$line
        for i in "${!old[@]}"; do
            if [ "$line" = "${old[$i]}" ]; then
                out=${new[$i]}
                seen[$i]=$((seen[$i] + 1))
            fi
        done
        printf '%s\n' "$out"
    done <"$file"
    for i in "${!old[@]}"; do
        if [ "${seen[$i]}" -ne 1 ]; then
            say "$file: expected exactly one line '${old[$i]}', found ${seen[$i]}"
            return 1
        fi
    done
}

generate_config() {
    local -a subst
    mkdir -p "$dir/conf.d" "$dir/snippets" "$dir/tmp" "$dir/logs"

    subst=("    server  unix:/run/fastbank/fastbank.sock;"
           "    server  unix:$sock;"
           "    listen  127.0.0.1:8080;"
           "    listen  127.0.0.1:$port;")
    if [ -n "$body_limit" ]; then
        subst+=("    client_max_body_size  4k;"
                "    client_max_body_size  $body_limit;")
    fi
    if [ "$limit_req" = yes ]; then
        subst+=("#limit_req_zone  \$binary_remote_addr  zone=fastbank:10m  rate=20r/s;"
                "limit_req_zone  \$binary_remote_addr  zone=fastbank:10m  rate=20r/s;"
                "    #include  snippets/fastbank-limit-req.conf;"
                "    include  snippets/fastbank-limit-req.conf;")
    fi
    subst_lines "$here/fastbank.conf" "${subst[@]}" >"$dir/conf.d/fastbank.conf.new"
    mv "$dir/conf.d/fastbank.conf.new" "$dir/conf.d/fastbank.conf"
    cp "$here/fastbank-fastcgi.conf" "$here/fastbank-limit-req.conf" "$dir/snippets/"

    local user_line="# (not root: nginx's workers run as $(id -un))"
    if [ "$(id -u)" -eq 0 ]; then
        # As root, nginx's workers would become "nobody", which may be unable
        # to reach the socket and temporary files under RUN_DIR (a private
        # temporary directory, a home directory).  This is a development and
        # test server bound to 127.0.0.1, so they stay root; the shipped
        # configuration runs them as Debian's www-data.
        user_line="user  root;"
    fi

    local access_log_line="access_log  off;"
    if [ "$access_log" = yes ]; then
        access_log_line="access_log  $dir/logs/access.log  combined  buffer=64k  flush=1s;"
    fi

    cat >"$dir/nginx.conf.new" <<EOF
# Generated by nginx/fb-run.sh from nginx/fastbank.conf; edits are lost on
# the next run.  nginx -p $dir/ -c $dir/nginx.conf -e stderr
daemon  off;
$user_line
worker_processes  $nginx_workers;
worker_rlimit_nofile  $nofile;
pid  $dir/nginx.pid;
lock_file  $dir/nginx.lock;
error_log  stderr;

events {
    worker_connections  $worker_connections;
}

http {
    default_type  application/octet-stream;
    $access_log_line

    client_body_temp_path  $dir/tmp/client_body;
    fastcgi_temp_path  $dir/tmp/fastcgi;
    proxy_temp_path  $dir/tmp/proxy;
    scgi_temp_path  $dir/tmp/scgi;
    uwsgi_temp_path  $dir/tmp/uwsgi;

    include  conf.d/*.conf;
}
EOF
    mv "$dir/nginx.conf.new" "$dir/nginx.conf"
}

generate_config || die "could not generate $dir/nginx.conf"

if [ "$config_only" = yes ]; then
    printf '%s\n' "$dir/nginx.conf"
    exit 0
fi

nginx_pid=
backend_pid=
stopping=no

# workers_of PID: the pids whose parent is PID (nginx's workers).
workers_of() {
    local stat pid rest ppid
    for stat in /proc/[0-9]*/stat; do
        read -r pid rest 2>/dev/null <"$stat" || continue
        # After "(comm) ": the state, then the parent's pid.
        rest=${rest##*) }
        ppid=${rest#* }
        ppid=${ppid%% *}
        [ "$ppid" = "$1" ] && printf '%s\n' "$pid"
    done
    return 0
}

alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# reap NAME PID: wait for PID and report its exit status.  A non-zero
# status (a crash, or a sanitizer's report at exit) makes this script's own
# exit status non-zero.
child_failed=no
reap() {
    local name=$1 pid=$2 rc=0
    wait "$pid" 2>/dev/null || rc=$?
    [ "$rc" -eq 0 ] || child_failed=yes
    if [ "$rc" -gt 128 ]; then
        say "$name (pid $pid) exited on signal $((rc - 128))"
    else
        say "$name (pid $pid) exited with status $rc"
    fi
}

# stop_pid NAME PID SIGNAL SECONDS: send SIGNAL, wait up to SECONDS, then
# SIGKILL.  Returns 1 if SIGKILL was needed.
stop_pid() {
    local name=$1 pid=$2 sig=$3 secs=$4 i
    alive "$pid" || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    say "$name (pid $pid) still running ${secs} s after SIG$sig: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

# nginx's workers, as last seen: if the master dies, they are stopped too.
nginx_workers=

note_workers() {
    local w
    alive "$nginx_pid" || return 0
    for w in $(workers_of "$nginx_pid"); do
        case " $nginx_workers " in
            *" $w "*) ;;
            *) nginx_workers="$nginx_workers $w" ;;
        esac
    done
}

kill_stray_workers() {
    local w title
    for w in $nginx_workers; do
        alive "$w" || continue
        title=$(tr '\0' ' ' 2>/dev/null <"/proc/$w/cmdline") || continue
        case $title in
            "nginx: worker process"*)
                say "nginx worker (pid $w) outlived its master: SIGKILL"
                kill -KILL "$w" 2>/dev/null || true
                ;;
        esac
    done
}

stop_all() {
    [ "$stopping" = yes ] && return 0
    stopping=yes
    trap '' INT TERM HUP
    if alive "$nginx_pid"; then
        note_workers
        # SIGQUIT: finish the requests in flight, close idle connections.
        stop_pid nginx "$nginx_pid" QUIT 10 || true
        reap nginx "$nginx_pid"
    fi
    kill_stray_workers
    if alive "$backend_pid"; then
        # SIGTERM: stop accepting, finish the requests in flight, exit 0.
        stop_pid backend "$backend_pid" TERM 10 || true
        reap backend "$backend_pid"
    fi
    rm -f "$dir/fastbank.pid" "$dir/nginx.pid" "$sock"
}

on_exit() {
    local rc=$?
    stop_all
    exit "$rc"
}
trap on_exit EXIT

stop_reason=
trap 'stop_reason="signal SIGTERM"' TERM
trap 'stop_reason="signal SIGINT"' INT
trap 'stop_reason="signal SIGHUP"' HUP

# Each child gets its own session: a Ctrl-C in the terminal reaches only this
# script, which then stops nginx before the backend.
rm -f "$sock"
(cd "$dir" && exec setsid "$backend" --config /dev/null \
    --listen "unix:$sock" \
    ${threads:+--threads "$threads"} --data-dir "${data_dir:-$dir/data}" \
    "${extra[@]}") </dev/null >&2 &
backend_pid=$!
printf '%s\n' "$backend_pid" >"$dir/fastbank.pid"

# Start nginx once the backend's socket exists, so that the first requests
# do not fail to connect.
started=$SECONDS
until [ -S "$sock" ]; do
    if ! alive "$backend_pid"; then
        reap backend "$backend_pid"
        backend_pid=
        die "the backend stopped before creating $sock"
    fi
    [ -z "$stop_reason" ] || exit 1
    if [ $((SECONDS - started)) -ge 60 ]; then
        die "the backend did not create $sock within 60 s"
    fi
    sleep 0.05
done

setsid "$nginx_bin" -p "$dir/" -c "$dir/nginx.conf" -e stderr </dev/null >&2 &
nginx_pid=$!

# probe: 0 if GET /healthz through nginx answers 200.
probe() {
    local status
    status=$(timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
        IFS= read -r line <&3 && printf "%s" "$line"' probe "$port" 2>/dev/null) \
        || return 1
    [[ $status =~ ^HTTP/1\.[01]\ 200 ]]
}

# died: if nginx or the backend has exited, report it and fail.
died() {
    local name pid
    for name in nginx backend; do
        if [ $name = nginx ]; then pid=$nginx_pid; else pid=$backend_pid; fi
        if ! alive "$pid"; then
            reap "$name" "$pid"
            if [ $name = nginx ]; then nginx_pid=; else backend_pid=; fi
            say "$name stopped on its own: stopping the rest"
            return 0
        fi
    done
    return 1
}

until probe; do
    died && exit 1
    [ -z "$stop_reason" ] || exit 1
    if [ $((SECONDS - started)) -ge 60 ]; then
        say "GET http://127.0.0.1:$port/healthz did not answer 200 within 60 s"
        exit 1
    fi
    sleep 0.1
done

note_workers
printf 'fastbank serving on http://127.0.0.1:%s (nginx pid %s, backend pid %s)\n' \
    "$port" "$nginx_pid" "$backend_pid"

# Every 0.2 s: is everything alive, is the lifetime up.  The tick is a
# read with a timeout from a FIFO nobody writes (a trapped signal ends it
# at once): no fork.  This script shares the CPUs with what it runs,
# benchmarks included; forking a sleep five times a second stalled the
# stack it measured.  (wait -n cannot replace the tick: it misses a child
# that ended before it was called.)
tick=
if mkfifo "$dir/.tick" 2>/dev/null; then
    exec {tick}<>"$dir/.tick"
    rm -f "$dir/.tick"
fi

while [ -z "$stop_reason" ]; do
    died && exit 1
    if [ -n "$lifetime" ] && [ $((SECONDS - started)) -ge "$lifetime" ]; then
        stop_reason="the end of its lifetime ($lifetime s)"
        break
    fi
    if [ -n "$tick" ]; then
        read -r -t 0.2 -u "$tick" _ || true
    else
        sleep 0.2 &
        wait $! 2>/dev/null || true
    fi
done

say "stopping on $stop_reason"
stop_all
[ "$child_failed" = no ] || exit 1
exit 0
