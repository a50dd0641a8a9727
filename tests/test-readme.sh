#!/bin/sh
# test-readme: the curl examples in README.md work exactly as printed.
#
# The block between <!-- curl-examples --> and <!-- /curl-examples --> is a
# console session: "$ curl ..." lines are commands, the lines under each
# are its output.  Against a fresh stack (nginx/fb-run.sh, a free port in
# place of 8080) each command runs as printed through sh -c, in order, and
# its output (curl -i) must show the status code printed, every header
# printed with the same value, and, for a JSON body, the same JSON object
# (the wording of "message" aside).  Other body lines must appear in the
# output; a line ending in "..." stands for any line starting with the text
# before it.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
. "$top_srcdir/tests/fbtest.sh"
python3=${PYTHON3:-$(command -v python3 || true)}
[ -n "$python3" ] || { echo "ERROR: python3 not found: install the Debian package python3" >&2; exit 99; }
command -v curl >/dev/null || { echo "ERROR: curl not found: install the Debian package curl" >&2; exit 99; }
fb_find_nginx
export NGINX=$nginx
backend=$top_builddir/fcgi/fastbank
[ -x "$backend" ] || { echo "ERROR: $backend not found: the fastbank backend is not built (run make)" >&2; exit 99; }
readme=$top_srcdir/README.md
[ -r "$readme" ] || { echo "ERROR: $readme not found" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fb-readme.XXXXXX")
run_pid=

cleanup() {
    if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
        kill -TERM "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- extract the examples -----------------------------------------------------

# examples/N.cmd holds the command, examples/N.out the output shown.
mkdir -p "$tmp/examples"
awk -v dir="$tmp/examples" '
    /^<!-- curl-examples -->$/ { inblock = 1; next }
    /^<!-- \/curl-examples -->$/ { inblock = 0; next }
    !inblock { next }
    /^```/ { infence = !infence; next }
    !infence { next }
    /^\$ / { n++; print substr($0, 3) > (dir "/" n ".cmd"); close(dir "/" n ".cmd");
             printf "" > (dir "/" n ".out"); next }
    n { print >> (dir "/" n ".out"); close(dir "/" n ".out") }
' "$readme"
count=$(ls "$tmp/examples" | grep -c '\.cmd$')
if [ "$count" -ge 10 ]; then
    ok "README.md has $count curl examples between the markers"
else
    fail "README.md has curl examples between the markers (found $count)"
fi

# --- a fresh stack ------------------------------------------------------------

port=$("$python3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkfifo "$tmp/ready"
bash "$top_srcdir/nginx/fb-run.sh" --build "$top_builddir" --dir "$tmp/run" \
    --port "$port" --lifetime 600 >"$tmp/ready" 2>"$tmp/fb-run.log" &
run_pid=$!
line=
read -r -t 120 line <"$tmp/ready" || true
case $line in
    "fastbank serving on http://127.0.0.1:$port "*) ok "stack started on port $port" ;;
    *) fail "stack started" "$(cat "$tmp/fb-run.log")"; echo "$passed passed, $failed failed"; exit 1 ;;
esac

# --- run them -----------------------------------------------------------------

compare='
import json, re, sys
shown = open(sys.argv[1], encoding="utf-8").read().rstrip("\n").split("\n")
while shown and shown[-1] == "":
    shown.pop()
got = open(sys.argv[2], "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
head, _, body = got.partition("\n\n")
got_lines = head.split("\n")
problems = []
m = re.match(r"HTTP/[\d.]+ (\d{3})", shown[0] if shown else "")
g = re.match(r"HTTP/[\d.]+ (\d{3})", got_lines[0])
if not m:
    problems.append("the README shows no status line for this command")
elif not g or g.group(1) != m.group(1):
    problems.append("status: shown %r, got %r" % (shown[0], got_lines[0]))
got_headers = {}
for line in got_lines[1:]:
    k, _, v = line.partition(":")
    got_headers.setdefault(k.strip().lower(), []).append(v.strip())
i = 1
while i < len(shown) and shown[i] != "":
    k, _, v = shown[i].partition(":")
    if v.strip() not in got_headers.get(k.strip().lower(), []):
        problems.append("header %r: got %r" % (shown[i], got_headers.get(k.strip().lower())))
    i += 1
shown_body = "\n".join(shown[i + 1:]).strip()
if shown_body.startswith("{"):
    want = json.loads(shown_body)
    try:
        have = json.loads(body)
    except ValueError:
        have = None
    if not isinstance(have, dict):
        problems.append("body is not a JSON object: %r" % body[:300])
    else:
        if "message" in want:
            if not isinstance(have.get("message"), str) or not have["message"]:
                problems.append("no message in %r" % have)
            want.pop("message"); have = dict(have); have.pop("message", None)
        if want != have:
            problems.append("body: shown %r, got %r" % (want, have))
elif shown_body:
    body_lines = body.split("\n")
    for want in shown_body.split("\n"):
        if want.endswith("..."):
            hit = any(l.startswith(want[:-3].rstrip()) for l in body_lines)
        else:
            hit = want in body_lines
        if not hit:
            problems.append("body line %r not in the output" % want)
print("\n".join(problems))
'

for n in $(seq 1 "$count"); do
    cmd=$(cat "$tmp/examples/$n.cmd")
    case $cmd in
        curl\ *http://127.0.0.1:8080/*) ;;
        *) fail "example $n is a curl command on http://127.0.0.1:8080: $cmd"; continue ;;
    esac
    run=${cmd//127.0.0.1:8080/127.0.0.1:$port}
    if ! sh -c "$run" >"$tmp/$n.got" 2>"$tmp/$n.err"; then
        fail "example $n: $cmd" "exit status $?: $(cat "$tmp/$n.err")"
        continue
    fi
    problems=$("$python3" -c "$compare" "$tmp/examples/$n.out" "$tmp/$n.got" 2>&1)
    if [ -z "$problems" ]; then
        ok "example $n: $cmd"
    else
        fail "example $n: $cmd" "$problems
output:
$(tr -d '\r' <"$tmp/$n.got" | head -n 30)"
    fi
done

kill -TERM "$run_pid" 2>/dev/null
wait "$run_pid"
rc=$?
run_pid=
if [ "$rc" -eq 0 ]; then ok "fb-run.sh stopped cleanly"; else fail "fb-run.sh stopped cleanly (status $rc)" "$(tail -n 20 "$tmp/fb-run.log")"; fi

fb_summary
