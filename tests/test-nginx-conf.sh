#!/bin/sh
# test-nginx-conf: nginx -t on the configuration nginx/fb-run.sh generates
# (every option that changes it), and on the shipped files dropped as they
# are into a Debian-like /etc/nginx (conf.d/, sites-available/ plus a link,
# and with the documented rate-limit steps applied).  Also checks that the
# generated configuration differs from the shipped file only in the lines
# fb-run.sh is meant to replace, and the shipped files' format.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
. "$top_srcdir/tests/fbtest.sh"
fb_find_nginx
shipped=$top_srcdir/nginx
fb_run=$shipped/fb-run.sh
[ -r "$fb_run" ] || { echo "ERROR: $fb_run not found" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fb-conf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# nginx_t NAME DIR: nginx -t on DIR/nginx.conf, expecting success.
nginx_t() {
    local out
    if out=$("$nginx" -t -p "$2/" -c "$2/nginx.conf" -e stderr 2>&1) \
       && printf '%s' "$out" | grep -q 'test is successful'; then
        ok "nginx -t: $1"
    else
        fail "nginx -t: $1" "$out"
    fi
}

# --- the configuration fb-run.sh generates ------------------------------------

# generated_diff DIR: the lines of conf.d/fastbank.conf that differ from the
# shipped fastbank.conf, as "-old" and "+new".
generated_diff() {
    diff "$shipped/fastbank.conf" "$1/conf.d/fastbank.conf" \
        | sed -n 's/^< /-/p; s/^> /+/p'
}

variant() {
    local name=$1 expect=$2; shift 2
    local dir=$tmp/gen-$name out
    if ! out=$(bash "$fb_run" --config-only --dir "$dir" --port 18080 "$@" 2>&1); then
        fail "fb-run.sh --config-only $*" "$out"
        return
    fi
    ok "fb-run.sh --config-only $*"
    nginx_t "generated ($name)" "$dir"
    local got
    got=$(generated_diff "$dir" | sort)
    if [ "$got" = "$(printf '%s\n' "$expect" | sed "s|@DIR@|$dir|" | sort)" ]; then
        ok "generated ($name) differs from nginx/fastbank.conf only where meant"
    else
        fail "generated ($name) differs from nginx/fastbank.conf only where meant" "$got"
    fi
    local f
    for f in fastbank-fastcgi.conf fastbank-limit-req.conf; do
        if cmp -s "$shipped/$f" "$dir/snippets/$f"; then
            ok "generated ($name): snippets/$f is the shipped file"
        else
            fail "generated ($name): snippets/$f is the shipped file"
        fi
    done
    if grep -q '^    listen  127\.0\.0\.1:18080;$' "$dir/conf.d/fastbank.conf"; then
        ok "generated ($name) listens on 127.0.0.1 only"
    else
        fail "generated ($name) listens on 127.0.0.1 only"
    fi
}

base='-    server  unix:/run/fastbank/fastbank.sock;
+    server  unix:@DIR@/fastbank.sock;
-    listen  127.0.0.1:8080;
+    listen  127.0.0.1:18080;'
limit='-#limit_req_zone  $binary_remote_addr  zone=fastbank:10m  rate=20r/s;
+limit_req_zone  $binary_remote_addr  zone=fastbank:10m  rate=20r/s;
-    #include  snippets/fastbank-limit-req.conf;
+    include  snippets/fastbank-limit-req.conf;'
body='-    client_max_body_size  4k;
+    client_max_body_size  16k;'

variant default "$base"
variant limit-req "$base
$limit" --limit-req
variant body16k "$base
$body" --body-limit-nginx 16k
variant both "$base
$limit
$body" --limit-req --body-limit-nginx 16k

# The generated main configuration runs unprivileged from its directory.
conf=$tmp/gen-default/nginx.conf
for want in 'daemon  off;' 'worker_processes  2;' 'worker_connections  ' \
            'worker_rlimit_nofile  ' "pid  $tmp/gen-default/nginx.pid;" \
            'client_body_temp_path  ' 'fastcgi_temp_path  ' 'proxy_temp_path  ' \
            'scgi_temp_path  ' 'uwsgi_temp_path  '; do
    if grep -qF -- "$want" "$conf"; then
        ok "generated nginx.conf has '$want'"
    else
        fail "generated nginx.conf has '$want'"
    fi
done

# The access log: buffered by default, none with --no-access-log (the
# benchmarks), and nothing else changes.
want_log="    access_log  $tmp/gen-default/logs/access.log  combined  buffer=64k  flush=1s;"
if grep -qxF -- "$want_log" "$conf"; then
    ok "generated nginx.conf has a buffered access log"
else
    fail "generated nginx.conf has a buffered access log" "$(grep -n access_log "$conf")"
fi
cp "$conf" "$tmp/nginx.conf.default"
if out=$(bash "$fb_run" --config-only --dir "$tmp/gen-default" --port 18080 \
             --no-access-log 2>&1); then
    got=$(diff "$tmp/nginx.conf.default" "$conf" | sed -n 's/^[<>] /&/p')
    want="< $want_log
>     access_log  off;"
    if [ "$got" = "$want" ]; then
        ok "fb-run.sh --no-access-log: access_log off, nothing else changed"
    else
        fail "fb-run.sh --no-access-log: access_log off, nothing else changed" "$got"
    fi
    nginx_t "generated (no access log)" "$tmp/gen-default"
else
    fail "fb-run.sh --config-only --no-access-log" "$out"
fi

# --nginx-workers: worker_processes alone changes (bench.sh gives every
# nginx, fastbank's too, the same count); nonsense is refused.
for w in 1 auto; do
    if out=$(bash "$fb_run" --config-only --dir "$tmp/gen-default" --port 18080 \
                 --no-access-log --nginx-workers "$w" 2>&1); then
        got=$(diff "$tmp/nginx.conf.default" "$conf" | sed -n 's/^[<>] /&/p' | sort)
        want=$(printf '%s\n' "< worker_processes  2;" "> worker_processes  $w;" \
                   "< $want_log" ">     access_log  off;" | sort)
        if [ "$got" = "$want" ]; then
            ok "fb-run.sh --nginx-workers $w: worker_processes $w, nothing else changed"
        else
            fail "fb-run.sh --nginx-workers $w: worker_processes $w, nothing else changed" "$got"
        fi
        nginx_t "generated (--nginx-workers $w)" "$tmp/gen-default"
    else
        fail "fb-run.sh --config-only --nginx-workers $w" "$out"
    fi
done
for w in 0 -1 two ""; do
    if out=$(bash "$fb_run" --config-only --dir "$tmp/gen-bad" --port 18080 \
                 --nginx-workers "$w" 2>&1); then
        fail "fb-run.sh --nginx-workers '$w' is refused" "$out"
    else
        ok "fb-run.sh --nginx-workers '$w' is refused"
    fi
done

# --- the shipped files in a Debian-like /etc/nginx ----------------------------

# debian_etc DIR: a minimal copy of Debian's /etc/nginx/nginx.conf layout.
debian_etc() {
    local dir=$1 user_line=
    mkdir -p "$dir/conf.d" "$dir/sites-available" "$dir/sites-enabled" \
             "$dir/snippets" "$dir/tmp"
    if [ "$(id -u)" -eq 0 ] && getent passwd www-data >/dev/null; then
        user_line="user www-data;"
    fi
    cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes auto;
pid $dir/nginx.pid;
error_log stderr;

events {
	worker_connections 768;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	default_type application/octet-stream;
	access_log $dir/access.log;
	gzip on;

	client_body_temp_path $dir/tmp/body;
	fastcgi_temp_path $dir/tmp/fastcgi;
	proxy_temp_path $dir/tmp/proxy;
	scgi_temp_path $dir/tmp/scgi;
	uwsgi_temp_path $dir/tmp/uwsgi;

	include conf.d/*.conf;
	include sites-enabled/*;
}
EOF
    cp "$shipped/fastbank-fastcgi.conf" "$shipped/fastbank-limit-req.conf" \
       "$dir/snippets/"
}

debian_etc "$tmp/debian-confd"
cp "$shipped/fastbank.conf" "$tmp/debian-confd/conf.d/"
nginx_t "shipped files in conf.d/ and snippets/" "$tmp/debian-confd"

debian_etc "$tmp/debian-sites"
cp "$shipped/fastbank.conf" "$tmp/debian-sites/sites-available/fastbank"
ln -s ../sites-available/fastbank "$tmp/debian-sites/sites-enabled/fastbank"
nginx_t "shipped files in sites-available/ (linked) and snippets/" "$tmp/debian-sites"

# The rate limit enabled as fastbank-limit-req.conf says: uncomment two lines.
debian_etc "$tmp/debian-limit"
sed -e 's/^#limit_req_zone  /limit_req_zone  /' \
    -e 's/^    #include  snippets\/fastbank-limit-req\.conf;/    include  snippets\/fastbank-limit-req.conf;/' \
    "$shipped/fastbank.conf" >"$tmp/debian-limit/conf.d/fastbank.conf"
if [ "$(grep -c '^limit_req_zone  \|^    include  snippets/fastbank-limit-req.conf;' \
        "$tmp/debian-limit/conf.d/fastbank.conf")" -eq 2 ]; then
    ok "the documented rate-limit lines are in fastbank.conf, commented out"
else
    fail "the documented rate-limit lines are in fastbank.conf, commented out"
fi
nginx_t "shipped files with the rate limit enabled" "$tmp/debian-limit"

# A check that can fail: the limit_req snippet without its zone is refused.
debian_etc "$tmp/debian-broken"
sed -e 's/^    #include  snippets\/fastbank-limit-req\.conf;/    include  snippets\/fastbank-limit-req.conf;/' \
    "$shipped/fastbank.conf" >"$tmp/debian-broken/conf.d/fastbank.conf"
if out=$("$nginx" -t -p "$tmp/debian-broken/" -c "$tmp/debian-broken/nginx.conf" -e stderr 2>&1); then
    fail "nginx -t refuses the rate-limit include without its zone" "$out"
else
    ok "nginx -t refuses the rate-limit include without its zone"
fi

# --- format of the shipped files ------------------------------------------------

for f in fastbank.conf fastbank-fastcgi.conf fastbank-limit-req.conf; do
    p=$shipped/$f
    bad=$(grep -n "$(printf '\t')\| \$" "$p")
    if [ -z "$bad" ]; then ok "$f: no tabs, no trailing spaces"; else fail "$f: no tabs, no trailing spaces" "$bad"; fi
    # Simple directives: two spaces between the directive and its value, as
    # in nginx's own files.
    bad=$(grep -n '^ *[a-z_]\+ [^ ].*;$' "$p")
    if [ -z "$bad" ]; then ok "$f: two spaces after each directive"; else fail "$f: two spaces after each directive" "$bad"; fi
    if [ -z "$(tail -c 1 "$p")" ]; then ok "$f: ends with a newline"; else fail "$f: ends with a newline"; fi
done

# The snippet passes only what the backend reads, and the raw URI.
snip=$shipped/fastbank-fastcgi.conf
for want in 'fastcgi_pass  fastbank_backend;' 'fastcgi_keep_conn  on;' \
            'fastcgi_pass_request_headers  off;' \
            'fastcgi_param  REQUEST_URI     $request_uri;'; do
    if grep -qxF -- "$want" "$snip"; then ok "snippet has '$want'"; else fail "snippet has '$want'"; fi
done
if grep -v '^ *#' "$snip" | grep -q 'DOCUMENT_URI\|fastcgi_params'; then
    fail "snippet passes neither DOCUMENT_URI nor Debian's fastcgi_params"
else
    ok "snippet passes neither DOCUMENT_URI nor Debian's fastcgi_params"
fi

fb_summary
