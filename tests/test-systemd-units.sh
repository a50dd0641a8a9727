#!/bin/sh
# test-systemd-units: the generated fastbank.socket and fastbank.service.
# systemd-analyze verify must accept them without a single warning (with
# ExecStart pointed at the built binary and man:fastbank(8) at the built
# tree's page), they must say what doc/security.txt promises (socket mode
# and group, fd 0, the user, the hardening), and systemd-analyze security
# must rate the service's exposure at most 1.0.  A deliberately broken copy
# must make the verify check fail, so that the check can fail at all.
#
# Needs systemd-analyze (Debian package systemd) and man (man-db); a missing
# one is a hard error.  systemd need not be running: nothing is started.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
top_builddir=$(cd "${top_builddir:-.}" && pwd)
. "$top_srcdir/tests/fbtest.sh"

analyze=$(PATH=$PATH:/usr/bin:/bin command -v systemd-analyze || true)
if [ -z "$analyze" ]; then
    echo "ERROR: systemd-analyze not found: install the Debian package systemd" >&2
    exit 99
fi
if ! command -v man >/dev/null; then
    echo "ERROR: man not found (systemd-analyze verify checks Documentation=man:...): install the Debian package man-db" >&2
    exit 99
fi

units=$top_builddir/systemd
backend=$top_builddir/fcgi/fastbank
for f in "$units/fastbank.socket" "$units/fastbank.service" "$backend"; do
    if [ ! -f "$f" ]; then
        echo "ERROR: $f not found: run make first" >&2
        exit 99
    fi
done
group=$(sed -n 's/^SocketGroup=//p' "$units/fastbank.socket")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fb-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The installed ExecStart binary does not exist in a build tree: verify
# checks that it is executable, so point it at the one just built.
mkdir -p "$tmp/ok" "$tmp/man/man8"
cp "$top_srcdir/fcgi/fastbank.8" "$tmp/man/man8/"
cp "$units/fastbank.socket" "$tmp/ok/"
sed "s|^ExecStart=[^ ]*/fastbank |ExecStart=$backend |" \
    "$units/fastbank.service" >"$tmp/ok/fastbank.service"
if grep -q "^ExecStart=$backend --listen fd:0\$" "$tmp/ok/fastbank.service"; then
    ok "ExecStart runs fastbank --listen fd:0"
else
    fail "ExecStart runs fastbank --listen fd:0" "$(grep '^ExecStart' "$units/fastbank.service")"
fi

# verify DIR: systemd-analyze verify on DIR's two units; prints its output.
verify() {
    (cd "$1" && MANPATH=$tmp/man SYSTEMD_LOG_COLOR=0 \
        "$analyze" verify ./fastbank.socket ./fastbank.service 2>&1)
}

if out=$(verify "$tmp/ok") && [ -z "$out" ]; then
    ok "systemd-analyze verify: no error, no warning"
else
    fail "systemd-analyze verify: no error, no warning" "$out"
fi

# The same check must notice a bad value, which systemd only warns about.
mkdir -p "$tmp/bad"
cp "$tmp/ok/fastbank.service" "$tmp/bad/"
sed 's/^SocketMode=.*/SocketMode=06x0/' "$units/fastbank.socket" >"$tmp/bad/fastbank.socket"
out=$(verify "$tmp/bad")
if [ -n "$out" ]; then
    ok "systemd-analyze verify reports a broken SocketMode"
else
    fail "systemd-analyze verify reports a broken SocketMode" "(no output)"
fi

# has UNIT LINE: UNIT holds LINE exactly.
has() {
    if grep -qxF -- "$2" "$units/$1"; then
        ok "$1: $2"
    else
        fail "$1: $2" "$(grep -n "^${2%%=*}=" "$units/$1" || echo "(no ${2%%=*}= line)")"
    fi
}

has fastbank.socket "ListenStream=/run/fastbank/fastbank.sock"
has fastbank.socket "SocketUser=root"
has fastbank.socket "SocketMode=0660"
has fastbank.socket "Accept=no"
has fastbank.socket "WantedBy=sockets.target"
has fastbank.service "RestartPreventExitStatus=2"

# ... which holds only because a bad configuration file exits 2.
printf 'threads = many\n' > "$tmp/bad.conf"
out=$("$backend" --config "$tmp/bad.conf" --data-dir "$tmp/data" </dev/null 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && printf '%s' "$out" | grep -q 'bad.conf'; then
    ok "a bad configuration file exits 2, naming the file"
else
    fail "a bad configuration file exits 2, naming the file" "exit $rc: $out"
fi
if [ -n "$group" ] && getent group "$group" >/dev/null; then
    ok "fastbank.socket: SocketGroup=$group exists on this machine"
else
    fail "fastbank.socket: SocketGroup=$group exists on this machine"
fi

for line in \
    "StandardInput=socket" "StandardOutput=journal" "StandardError=journal" \
    "Requires=fastbank.socket" "User=fastbank" "Group=fastbank" \
    "StateDirectory=fastbank" "ReadWritePaths=/var/lib/fastbank" \
    "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" \
    "PrivateTmp=yes" "PrivateDevices=yes" "ProtectKernelTunables=yes" \
    "ProtectControlGroups=yes" "LockPersonality=yes" \
    "MemoryDenyWriteExecute=yes" "RestrictAddressFamilies=AF_UNIX" \
    "SystemCallFilter=@system-service" "CapabilityBoundingSet=" \
    "Also=fastbank.socket"
do
    has fastbank.service "$line"
done

# Only these may be writable: nothing but the state directory.
rw=$(grep -E '^(ReadWritePaths|StateDirectory|CacheDirectory|LogsDirectory|RuntimeDirectory|ConfigurationDirectory)=' \
     "$units/fastbank.service" | sort | tr '\n' ' ')
if [ "$rw" = "ReadWritePaths=/var/lib/fastbank StateDirectory=fastbank " ]; then
    ok "the only writable path is /var/lib/fastbank"
else
    fail "the only writable path is /var/lib/fastbank" "$rw"
fi

if out=$(cd "$tmp/ok" && SYSTEMD_LOG_COLOR=0 "$analyze" security --offline=yes \
         --threshold=10 ./fastbank.service 2>&1); then
    ok "systemd-analyze security: $(printf '%s\n' "$out" | grep -o 'exposure level.*' | tail -n 1)"
else
    fail "systemd-analyze security: exposure at most 1.0" "$(printf '%s\n' "$out" | grep -E '✗|exposure')"
fi

# The ExecStart command line parses, and fd 0 must be a listening socket.
out=$("$backend" --listen fd:0 --config /dev/null --data-dir "$tmp/data" </dev/null 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'fd:0: not a listening socket'; then
    ok "fastbank --listen fd:0 without a socket on fd 0 exits 1 and says why"
else
    fail "fastbank --listen fd:0 without a socket on fd 0 exits 1 and says why" "exit $rc: $out"
fi

fb_summary
