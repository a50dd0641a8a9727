#!/bin/sh
# promtool check metrics accepts the widest exposition the backend writes
# (tests/metrics-sample: every route, method, status, bucket and
# operation), lint included.  A missing promtool is a hard error (99),
# never a skip.
if [ -z "$PROMTOOL" ] || [ ! -x "$PROMTOOL" ]; then
    PROMTOOL=$(command -v promtool || true)
fi
if [ -z "$PROMTOOL" ]; then
    echo "promtool not found: install the Debian package prometheus" >&2
    exit 99
fi

out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT

"${top_builddir:-.}/tests/metrics-sample" >"$out" || {
    echo "tests/metrics-sample failed" >&2
    exit 1
}

# The check is only worth something on a text that has every kind in it
# (./configure --disable-metrics leaves no histogram).
kinds="counter gauge histogram"
[ "$FB_METRICS" = no ] && kinds="counter gauge"
for kind in $kinds; do
    grep -q "^# TYPE [a-z_]* $kind\$" "$out" || {
        echo "the sample has no $kind: nothing to check" >&2
        exit 1
    }
done

if ! "$PROMTOOL" check metrics <"$out"; then
    echo "promtool check metrics rejected the exposition:" >&2
    cat "$out" >&2
    exit 1
fi

echo "promtool check metrics: $(wc -l <"$out") lines accepted"
