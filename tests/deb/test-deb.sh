#!/usr/bin/env bash
# test-deb.sh: build the Debian package, install it, run the installed
# fastbank from the installed paths behind the installed nginx site, curl
# it, and purge the package.  doc/packaging.txt describes each step and
# what this cannot check without systemd as PID 1.
#
# usage: tests/deb/test-deb.sh [--deb FILE] [--check] [--keep]
#
#   --deb FILE   test this package instead of building one
#   --check      build with make check (default: DEB_BUILD_OPTIONS=nocheck,
#                ./dev.sh test runs make check already)
#   --keep       leave the package installed at the end
#
# Not part of make check: it installs and removes a package system-wide,
# so it needs root and a machine or container that may be changed.  It
# never starts, stops or reconfigures the system nginx or any systemd
# service; everything it starts runs under timeout(1) and is stopped by
# pid.
set -uo pipefail

prog=test-deb.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/fbtest.sh"

deb=
check=no
keep=no
while [ $# -gt 0 ]; do
    case $1 in
        --deb) [ $# -ge 2 ] || { echo "$prog: --deb needs a file" >&2; exit 2; }
               deb=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
        --check) check=yes; shift ;;
        --keep) keep=yes; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "$prog: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

check() {   # check NAME COMMAND...: ok if COMMAND succeeds
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$out"; fi
}
die() { echo "ERROR: $*" >&2; exit 99; }
say() { echo "#     $*"; }

[ "$(id -u)" -eq 0 ] || die "$prog installs a package: run it as root"
# A purge keeps account data (debian/postrm), so /var/lib/fastbank may
# hold the journal of an earlier installation.  This test would serve
# from it, add its own accounts to it, and remove the directory at the
# end: it runs only where there is none.
data=/var/lib/fastbank
if [ -d "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
    die "$data holds data (an earlier installation's accounts?); $prog would change and then delete it: move it away first"
fi
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found: install the Debian package python3"
for tool in apt-get dpkg-query python3 curl setpriv timeout nginx systemd-analyze; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null \
        || die "$tool not found (Debian packages: apt, dpkg, python3, curl, util-linux, coreutils, nginx, systemd)"
done
PATH=$PATH:/usr/sbin:/sbin
if dpkg-query -W -f='${Status}' fastbank 2>/dev/null | grep -q 'ok installed'; then
    die "the package fastbank is already installed here; $prog will not replace it"
fi
getent group www-data >/dev/null || die "no group www-data (Debian package base-passwd)"

sock=/run/fastbank/fastbank.sock
if [ -e "$sock" ]; then
    if python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock" 2>/dev/null; then
        die "$sock is in use: a fastbank is running here"
    fi
fi

tmp=$(mktemp -d /tmp/fb-deb.XXXXXX)
chmod 0755 "$tmp"
installed=no
made_run=no
made_policy=no
backend_pid=
nginx_pid=

cleanup() {
    local rc=$?
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill -QUIT "$nginx_pid" 2>/dev/null; sleep 1
        kill -KILL "$nginx_pid" 2>/dev/null
    fi
    if [ -n "$backend_pid" ] && kill -0 "$backend_pid" 2>/dev/null; then
        kill -TERM "$backend_pid" 2>/dev/null; sleep 1
        kill -KILL "$backend_pid" 2>/dev/null
    fi
    if [ "$installed" = yes ] && [ "$keep" = no ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq fastbank >/dev/null 2>&1
        # Only this run's accounts: there was no data before (above).
        rm -rf "$data"
    fi
    [ "$made_run" = no ] || rm -rf /run/fastbank
    [ "$made_policy" = no ] || rm -f /usr/sbin/policy-rc.d
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. build ---------------------------------------------------------------------

if [ -z "$deb" ]; then
    say "building the package (./dev.sh deb)"
    if [ "$check" = yes ]; then
        "$top/dev.sh" deb >"$tmp/build.out" 2>&1
    else
        DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" "$top/dev.sh" deb >"$tmp/build.out" 2>&1
    fi || { tail -n 60 "$tmp/build.out"; die "./dev.sh deb failed"; }
    deb=$(ls "$top"/build/deb/fastbank_*.deb 2>/dev/null | head -n 1)
fi
[ -n "$deb" ] && [ -f "$deb" ] || die "no package to test (${deb:-none built})"
ok "package: $(basename "$deb")"

# --- 2. install -------------------------------------------------------------------

# No service may be started by the install (nginx, if apt pulls it in).
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=yes
fi
[ -d /run/fastbank ] || made_run=yes
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" \
       >"$tmp/install.out" 2>&1; then
    installed=yes
    ok "apt-get install ./$(basename "$deb")"
else
    fail "apt-get install ./$(basename "$deb")" "$(tail -n 30 "$tmp/install.out")"
    exit 1
fi

# --- 3. what was installed --------------------------------------------------------

for f in /usr/sbin/fastbank /usr/share/man/man8/fastbank.8.gz \
         /lib/systemd/system/fastbank.socket /lib/systemd/system/fastbank.service \
         /etc/fastbank/fastbank.conf /etc/nginx/sites-available/fastbank \
         /etc/nginx/snippets/fastbank-fastcgi.conf /etc/nginx/snippets/fastbank-limit-req.conf \
         /usr/share/doc/fastbank/security.txt.gz /usr/share/doc/fastbank/packaging.txt.gz \
         /usr/share/doc/fastbank/journal.txt.gz /usr/share/doc/fastbank/operations.txt.gz
do
    if dpkg -S "$f" >/dev/null 2>&1 && [ -f "$f" ]; then ok "installed: $f"; else fail "installed: $f"; fi
done
conffiles=$(dpkg-query -W -f='${Conffiles}' fastbank)
for f in /etc/fastbank/fastbank.conf /etc/nginx/sites-available/fastbank \
         /etc/nginx/snippets/fastbank-fastcgi.conf; do
    if printf '%s\n' "$conffiles" | grep -q "^ $f "; then ok "conffile: $f"; else fail "conffile: $f" "$conffiles"; fi
done
if [ ! -e /etc/nginx/sites-enabled/fastbank ]; then
    ok "the nginx site is not enabled by the package"
else
    fail "the nginx site is not enabled by the package"
fi

pw=$(getent passwd fastbank)
uid=$(printf '%s' "$pw" | cut -d: -f3)
if [ -n "$pw" ] && [ "$uid" -lt 1000 ] && [ "$(printf '%s' "$pw" | cut -d: -f7)" = /usr/sbin/nologin ]; then
    ok "system user fastbank ($pw)"
else
    fail "system user fastbank" "$pw"
fi
check "/var/lib/fastbank: fastbank:fastbank 750" \
    test "$(stat -c '%U:%G %a' /var/lib/fastbank)" = "fastbank:fastbank 750"
check "fastbank.socket enabled (sockets.target.wants link)" \
    test -L /etc/systemd/system/sockets.target.wants/fastbank.socket
check "fastbank.service not enabled on its own" \
    test ! -e /etc/systemd/system/multi-user.target.wants/fastbank.service
out=$(cd /lib/systemd/system && systemd-analyze verify fastbank.socket fastbank.service 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
    ok "systemd-analyze verify on the installed units"
else
    fail "systemd-analyze verify on the installed units" "$out"
fi
check "fastbank --version" sh -c '/usr/sbin/fastbank --version | grep -q "^fastbank "'
check "the default configuration file is /etc/fastbank/fastbank.conf" \
    sh -c '/usr/sbin/fastbank --help | grep -q /etc/fastbank/fastbank.conf'

# --- 4. the backend, started the way fastbank.socket starts it ----------------------

printf '\n# added by test-deb.sh\nmax-accounts = 3\n' >>/etc/fastbank/fastbank.conf
mkdir -p /run/fastbank
chmod 0755 /run/fastbank
rm -f "$sock"
# Create the socket as the unit says (root:www-data 0660, backlog 1024),
# put it on descriptor 0 and exec fastbank as the user fastbank.
python3 -c '
import grp, os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chown(path, 0, grp.getgrnam("www-data").gr_gid)
os.chmod(path, 0o660)
s.listen(1024)
os.dup2(s.fileno(), 0)
s.close()
os.execvp("timeout", ["timeout", "-k", "10", "600",
                      "setpriv", "--reuid=fastbank", "--regid=fastbank",
                      "--clear-groups", "--no-new-privs",
                      "/usr/sbin/fastbank", "--listen", "fd:0"])
' "$sock" >"$tmp/backend.log" 2>&1 &
backend_pid=$!

for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
check "socket $sock: root:www-data 0660" \
    test "$(stat -c '%U:%G %a' "$sock")" = "root:www-data 660"
sleep 0.5
fb=$(pgrep -P "$backend_pid" -x fastbank || true)
if [ -n "$fb" ] && [ "$(awk '/^Uid:/ {print $2}' "/proc/$fb/status")" = "$uid" ]; then
    ok "fastbank runs as the user fastbank (pid $fb)"
else
    fail "fastbank runs as the user fastbank" "$(cat "$tmp/backend.log")"
fi

# --- 5. nginx as www-data, from a temporary prefix, with the installed site -----------

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/sites" "$tmp/tmp"
ln -s /etc/nginx/snippets "$tmp/snippets"
n=$(grep -cxF '    listen  127.0.0.1:8080;' /etc/nginx/sites-available/fastbank)
sed "s|^    listen  127.0.0.1:8080;\$|    listen  127.0.0.1:$port;|" \
    /etc/nginx/sites-available/fastbank >"$tmp/sites/fastbank"
changed=$(diff /etc/nginx/sites-available/fastbank "$tmp/sites/fastbank" | grep -c '^[<>]')
check "the installed site, only its listen line moved to port $port" \
    test "$n" -eq 1 -a "$changed" -eq 2
check "the installed site's upstream is $sock" \
    grep -qxF "    server  unix:$sock;" "$tmp/sites/fastbank"
cat >"$tmp/nginx.conf" <<EOF
# test-deb.sh: the installed site, served by an unprivileged nginx.
daemon  off;
worker_processes  1;
pid  $tmp/nginx.pid;
error_log  stderr;
events {
    worker_connections  256;
}
http {
    default_type  application/octet-stream;
    access_log  off;
    client_body_temp_path  $tmp/tmp/client_body;
    fastcgi_temp_path  $tmp/tmp/fastcgi;
    proxy_temp_path  $tmp/tmp/proxy;
    scgi_temp_path  $tmp/tmp/scgi;
    uwsgi_temp_path  $tmp/tmp/uwsgi;
    include  $tmp/sites/fastbank;
}
EOF
chown -R www-data:www-data "$tmp/tmp"
chown www-data "$tmp"
timeout -k 10 600 setpriv --reuid=www-data --regid=www-data --init-groups --no-new-privs \
    nginx -p "$tmp/" -c "$tmp/nginx.conf" -e stderr </dev/null >"$tmp/nginx.log" 2>&1 &
nginx_pid=$!

url=http://127.0.0.1:$port
up=no
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$url/healthz"; then up=yes; break; fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
done
[ "$up" = yes ] || fail "nginx (as www-data) is up" "$(cat "$tmp/nginx.log")"
master=$(pgrep -P "$nginx_pid" -x nginx || true)
if [ -n "$master" ] && [ "$(awk '/^Uid:/ {print $2}' "/proc/$master/status")" = "$(id -u www-data)" ]; then
    ok "nginx runs as www-data (pid $master)"
else
    fail "nginx runs as www-data"
fi

# --- 6. the API through it --------------------------------------------------------

# expect METHOD PATH BODY STATUS PATTERN: one request, status and body checked.
expect() {
    local method=$1 path=$2 body=$3 status=$4 pattern=$5 out code
    if [ -n "$body" ]; then
        out=$(curl -s -w '\n%{http_code} %{content_type}' -X "$method" -d "$body" "$url$path")
    else
        out=$(curl -s -w '\n%{http_code} %{content_type}' -X "$method" "$url$path")
    fi
    code=$(printf '%s' "$out" | tail -n 1)
    if [ "${code%% *}" = "$status" ] && printf '%s' "$out" | head -n -1 | grep -qE "$pattern"; then
        ok "$method $path: $status"
    else
        fail "$method $path: $status /$pattern/" "$out"
    fi
}

expect GET /healthz "" 200 '"status": *"ok"'
expect POST /accounts '{"owner": "Alice"}' 201 '"id": *1,.*"balance": *0'
expect POST /accounts '{"owner": "Bob"}' 201 '"id": *2'
expect POST /accounts/1/deposit '{"amount": 25000}' 200 '"balance": *25000'
expect POST /accounts/1/withdraw '{"amount": 5000}' 200 '"balance": *20000'
expect POST /accounts/transfer '{"from": 1, "to": 2, "amount": 5000}' 200 '"from_balance": *15000.*"to_balance": *5000'
expect GET /accounts/1 "" 200 '"owner": *"Alice".*"balance": *15000'
expect GET /accounts/2/balance "" 200 '"balance": *5000'
expect POST /accounts '{"owner": "Carol"}' 201 '"id": *3'
expect POST /accounts '{"owner": "Dave"}' 503 'no more accounts can be created'
expect GET /accounts/42 "" 404 '"code": *"ACCOUNT_NOT_FOUND"'
expect POST /accounts/2/withdraw '{"amount": 999999}' 400 '"code": *"INSUFFICIENT_FUNDS"'
expect GET /metrics "" 200 'http_requests_total'
check "GET /metrics: text/plain; version=0.0.4" \
    sh -c "curl -s -o /dev/null -w '%{content_type}' '$url/metrics' | grep -q 'text/plain; version=0.0.4'"

# Only root and www-data may connect to the socket.  Debian's python3, run
# as each user, prints what connect() did.
connect='
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print("refused: %s" % e)'
as_user() {
    local user=$1 group=$2; shift 2
    setpriv --reuid="$user" --regid="$group" --init-groups /usr/bin/python3 -c "$connect" "$sock" 2>&1
}
out=$(as_user nobody nogroup)
case $out in
    "refused: [Errno 13] Permission denied"*) ok "the user nobody cannot connect to $sock ($out)" ;;
    *) fail "the user nobody cannot connect to $sock" "$out" ;;
esac
out=$(as_user www-data www-data)
if [ "$out" = connected ]; then
    ok "the user www-data can connect to $sock"
else
    fail "the user www-data can connect to $sock" "$out"
fi

# --- 7. stop, purge ----------------------------------------------------------------

kill -QUIT "$nginx_pid" 2>/dev/null
wait "$nginx_pid"; rc=$?
nginx_pid=
check "nginx stopped (exit 0)" test "$rc" -eq 0
kill -TERM "$backend_pid" 2>/dev/null
wait "$backend_pid"; rc=$?
backend_pid=
if [ "$rc" -eq 0 ]; then ok "SIGTERM: fastbank exits 0"; else fail "SIGTERM: fastbank exits 0 (got $rc)" "$(cat "$tmp/backend.log")"; fi
rm -f "$sock"

if [ "$keep" = yes ]; then
    say "--keep: fastbank stays installed"
else
    if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq fastbank >"$tmp/purge.out" 2>&1; then
        installed=no
        ok "apt-get purge fastbank"
    else
        fail "apt-get purge fastbank" "$(tail -n 20 "$tmp/purge.out")"
    fi
    for f in /usr/sbin/fastbank /lib/systemd/system/fastbank.socket /etc/fastbank \
             /etc/nginx/sites-available/fastbank /etc/nginx/snippets/fastbank-fastcgi.conf \
             /etc/systemd/system/sockets.target.wants/fastbank.socket; do
        if [ -e "$f" ] || [ -L "$f" ]; then fail "gone after purge: $f"; else ok "gone after purge: $f"; fi
    done
    # Account data is never deleted by a purge (debian/postrm): the run
    # above journaled its accounts, so the directory stays, with them.
    if ls /var/lib/fastbank/journal-*.log >/dev/null 2>&1; then
        ok "purge kept the account data in /var/lib/fastbank"
        rm -rf "$data"
    else
        fail "purge kept the account data in /var/lib/fastbank" \
             "$(ls -la /var/lib/fastbank 2>&1)"
    fi
    getent passwd fastbank >/dev/null && say "the user fastbank stays, as Debian does for system users"
fi

fb_summary
