# fbtest.sh: what the shell tests share, as tests/fbtest.py does for the
# Python ones.  Sourced by bash once the test knows its source tree:
#
#   . "$top_srcdir/tests/fbtest.sh"
#
# ok NAME, fail NAME [DETAIL]: count one check and print it (DETAIL
# indented under a failure).  fb_summary: print the counts and return the
# test's status, 0 only when a check passed and none failed, so a test
# that checked nothing fails.  fb_find_nginx: nginx's path in $nginx.
# fb_find_bench: loadtest/bench.sh in $bench, and what it runs.

passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok    $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL  $1"
    [ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/      /'
}

fb_summary() {
    echo
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# From NGINX, else PATH with /usr/sbin; a missing nginx is a hard error
# (99), never a skip.  Not exported: nginx itself reads NGINX from its
# environment (the sockets of a binary upgrade), so a test exports it
# only for fb-run.sh and bench.sh, which take it out again.
fb_find_nginx() {
    nginx=${NGINX:-}
    [ -n "$nginx" ] \
        || nginx=$(PATH=$PATH:/usr/sbin:/usr/local/sbin command -v nginx || true)
    if [ -z "$nginx" ] || [ ! -x "$nginx" ]; then
        echo "ERROR: nginx not found: install the Debian package nginx" >&2
        exit 99
    fi
}

# bench.sh, the programs it starts (built in top_builddir) and nginx,
# exported as NGINX for bench.sh; a missing one is a hard error (99).
fb_find_bench() {
    local p

    bench=$top_srcdir/loadtest/bench.sh
    [ -r "$bench" ] || { echo "ERROR: $bench not found" >&2; exit 99; }
    for p in fb-load fb-echo fb-floor; do
        [ -x "$top_builddir/loadtest/$p" ] \
            || { echo "ERROR: loadtest/$p not built (run make)" >&2; exit 99; }
    done
    fb_find_nginx
    export NGINX=$nginx
}
