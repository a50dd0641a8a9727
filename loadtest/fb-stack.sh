# shellcheck shell=bash
# fb-stack.sh: sourced by soak.sh and thread-cost.sh.  nginx and fastbank,
# started by nginx/fb-run.sh in a scratch directory and stopped through
# fb-run.sh's pid (never by name).  nginx keeps no access log, as in
# bench.sh: its writeback would share the journal's disk.  The sourcing
# script defines die() and top (the source tree).
#
#   stack_start BUILD PORT LIFETIME LOG [fastbank options...]
#       sets stack_dir, stack_rpid (fb-run.sh), stack_npid and stack_bpid;
#       dies if the stack is not serving within 30 s.  fb-run.sh stops
#       everything by itself after LIFETIME seconds should the caller die.
#   stack_stop
#       stops fb-run.sh (nginx first, then the backend) and removes the
#       scratch directory; safe to call twice.  Callers install it (and
#       what else they clean up) as their EXIT trap before stack_start.

# shellcheck disable=SC2034  # read by the sourcing script
stack_dir='' stack_rpid='' stack_npid='' stack_bpid=''

stack_stop() {
    if [ -n "$stack_rpid" ]; then
        kill "$stack_rpid" 2>/dev/null || true
        wait "$stack_rpid" 2>/dev/null || true
        stack_rpid=
    fi
    if [ -n "$stack_dir" ]; then
        rm -rf "$stack_dir"
        stack_dir=
    fi
}

stack_start() {
    local build=$1 port=$2 lifetime=$3 log=$4
    shift 4

    stack_dir=$(mktemp -d /tmp/fb-stack.XXXXXX)

    # shellcheck disable=SC2154  # top: the sourcing script's
    "$top/nginx/fb-run.sh" --build "$build" --dir "$stack_dir" \
        --port "$port" --lifetime "$lifetime" --no-access-log ${1:+-- "$@"} \
        >"$log" 2>&1 &
    stack_rpid=$!

    for _ in $(seq 300); do
        grep -q "serving on http://127.0.0.1:$port" "$log" && break
        sleep 0.1
    done
    grep -q "serving on http://127.0.0.1:$port" "$log" \
        || die "fb-run.sh did not start (see $log)"
    stack_bpid=$(cat "$stack_dir/fastbank.pid")
    stack_npid=$(cat "$stack_dir/nginx.pid")
}
