#!/bin/sh
# test-script-usage: the benchmark scripts in loadtest/ refuse bad usage
# as their help says, with exit status 2 and before starting anything:
# run with no arguments they print their whole header (not a fixed count
# of its lines, which had stopped halfway as the options grew), and an
# option given no value, or an empty one, names the option.  No server
# is started: the command line is read before anything else.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
. "$top_srcdir/tests/fbtest.sh"

for s in bench journal-bench soak thread-cost; do
    script=$top_srcdir/loadtest/$s.sh
    [ -r "$script" ] || { echo "ERROR: $script not found" >&2; exit 99; }

    # The header's last line, read here apart from the script's usage.
    want=$(awk 'NR == 1 { next } !/^#/ { exit } { last = $0 }
                END { sub(/^# ?/, "", last); print last }' "$script")
    rc=0
    got=$(timeout 20 bash "$script" 2>&1) || rc=$?
    if [ "$rc" -eq 2 ] && [ -n "$want" ] \
        && [ "$(printf '%s\n' "$got" | tail -1)" = "$want" ]; then
        ok "$s.sh with no arguments: exit 2 and its whole header"
    else
        fail "$s.sh with no arguments: exit 2 and its whole header (exit $rc; want last line \"$want\")" \
             "$got"
    fi

    for value in "no value" "an empty one"; do
        rc=0
        if [ "$value" = "no value" ]; then
            got=$(timeout 20 bash "$script" "$top_builddir" --port 2>&1) || rc=$?
        else
            got=$(timeout 20 bash "$script" "$top_builddir" --port "" 2>&1) || rc=$?
        fi
        if [ "$rc" -eq 2 ] && [ "$got" = "$s.sh: --port needs a value" ]; then
            ok "$s.sh --port with $value: exit 2, the option named"
        else
            fail "$s.sh --port with $value: exit 2, the option named (exit $rc)" "$got"
        fi
    done
done

fb_summary
