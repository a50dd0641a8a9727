#!/usr/bin/env bash
# dev.sh: one command to serve fastbank, one to test it.
#
#   ./dev.sh serve    install what is missing, build, and serve the API
#                     through nginx on http://127.0.0.1:${PORT:-8080}
#   ./dev.sh test     install what is missing, build, and run every test:
#                     make check, a short make fuzz, make distcheck, and
#                     the ASan/UBSan, TSan and --disable-metrics builds'
#                     make check
#   ./dev.sh bench    install, build, and run the benchmarks (BENCHMARKS.md)
#   ./dev.sh build    install and build only
#   ./dev.sh deb      install the packaging tools and build dependencies,
#                     and build the Debian package into build/deb/
#                     (DEB_BUILD_OPTIONS=nocheck skips its make check)
#
# Builds go to build/<flavour>/ (out of tree); nothing is installed system
# wide except the Debian packages listed below.
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

jobs=$(nproc 2>/dev/null || echo 2)

# Debian packages: to build, to run, and to test.
build_pkgs=(build-essential autoconf automake pkg-config
            libfcgi-dev libjson-c-dev libatomic-ops-dev libcunit1-dev)
serve_pkgs=(nginx curl)
test_pkgs=(nginx python3 prometheus curl systemd man-db strace
           clang libclang-rt-14-dev)
deb_pkgs=(debhelper dpkg-dev fakeroot lintian)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

install_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    # Installing nginx must not start Debian's system nginx on port 80:
    # fastbank runs its own unprivileged nginx.  policy-rc.d says so to
    # invoke-rc.d for the length of this install only.
    local policy=/usr/sbin/policy-rc.d made_policy=no
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        made_policy=yes
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    [ "$made_policy" = yes ] && "${sudo[@]}" rm -f "$policy"
    return 0
}

# configure_tree DIR [configure args...]: autogen once, configure DIR once.
configure_tree() {
    local dir=$1; shift
    if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
        log "autogen"
        "$top/autogen.sh" >/dev/null 2>&1 || "$top/autogen.sh"
    fi
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot "$top/configure" ]; then
        log "configure $dir $*"
        (cd "$dir" && "$top/configure" -q "$@")
    fi
}

build_tree() {
    local dir=$1; shift
    configure_tree "$dir" "$@"
    log "make -C $dir"
    make -s -C "$dir" -j"$jobs"
}

# Tests passed so far, over every tree checked.
passed=0

# check_tree DIR: make check; on failure print the failing tests' logs.
check_tree() {
    local dir=$1 n
    log "make check in $dir"
    if ! make -s -C "$dir" -j"$jobs" check; then
        # automake's .trs files say ":test-result: FAIL" (or ERROR).
        for f in $(find "$dir" -name '*.trs'); do
            if grep -qE '^:test-result: (FAIL|ERROR)' "$f"; then
                printf '\n---- %s: failed checks ----\n' "${f%.trs}.log"
                grep -E -A4 '^FAIL' "${f%.trs}.log" | head -n 60
                printf -- '---- %s: its end ----\n' "${f%.trs}.log"
                tail -n 60 "${f%.trs}.log"
            fi
        done
        die "make check failed in $dir"
    fi
    # make check passes with a test that skipped (exit 77) and with none
    # run at all; neither checked anything.
    local skipped
    n=$(awk '/^# PASS:/ { print $3 }' "$dir/test-suite.log")
    skipped=$(awk '/^# SKIP:/ { print $3 }' "$dir/test-suite.log")
    if [ "${skipped:-0}" -ne 0 ]; then
        grep -E '^SKIP' "$dir/test-suite.log" >&2 || true
        die "make check in $dir skipped $skipped test(s): a skip is not a pass"
    fi
    [ "${n:-0}" -gt 0 ] || die "make check in $dir ran no test"
    passed=$((passed + n))
}

cmd_build() {
    install_pkgs "${build_pkgs[@]}"
    build_tree build/release --enable-werror
}

cmd_test() {
    install_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}"
    build_tree build/release --enable-werror
    check_tree build/release

    log "make fuzz (libFuzzer, each harness ${FUZZ_TIME:-20} s)"
    make -s -C build/release fuzz FUZZ_TIME="${FUZZ_TIME:-20}"

    log "make distcheck"
    make -s -C build/release -j"$jobs" distcheck \
        DISTCHECK_CONFIGURE_FLAGS="--enable-werror --with-atomics=libatomic_ops" \
        >build/distcheck.log 2>&1 || { tail -n 120 build/distcheck.log >&2; die "make distcheck failed (build/distcheck.log)"; }
    grep -E '^=+$|archives ready|ready for distribution' build/distcheck.log | tail -n 3 >&2 || true

    build_tree build/asan --enable-werror --enable-sanitizers=address
    check_tree build/asan

    build_tree build/tsan --enable-werror --enable-sanitizers=thread
    check_tree build/tsan

    # Metrics compiled out: the tests check that nothing is recorded and
    # that /metrics still answers in the same shape.
    build_tree build/nometrics --enable-werror --disable-metrics
    check_tree build/nometrics

    # The Debian package: built, installed system-wide, run from the
    # installed paths behind the installed nginx site, purged.  Only where
    # the machine may be changed: in CI, or when asked for.
    if [ "${CI:-}" = true ] || [ "${FB_TEST_DEB:-}" = 1 ]; then
        log "tests/deb/test-deb.sh (build, install, serve, purge the .deb)"
        "$top/tests/deb/test-deb.sh" || die "tests/deb/test-deb.sh failed"
        passed=$((passed + 1))
    else
        log "the Debian package test was not run (it installs a package" \
            "system-wide): FB_TEST_DEB=1 ./dev.sh test runs it"
    fi

    log "all tests passed: release, fuzz, distcheck, address+undefined," \
        "thread, metrics compiled out"
    echo "dev.sh test: $passed passed, 0 failed"
}

cmd_serve() {
    install_pkgs "${build_pkgs[@]}" "${serve_pkgs[@]}"
    build_tree build/release --enable-werror
    exec "$top/nginx/fb-run.sh" --build "$top/build/release" \
        --dir "$top/build/serve" --port "${PORT:-8080}"
}

cmd_bench() {
    install_pkgs "${build_pkgs[@]}" "${serve_pkgs[@]}" wrk
    build_tree build/release --enable-werror
    exec "$top/loadtest/bench.sh" "$top/build/release"
}

# The package is built from a copy of the tree (dpkg-buildpackage writes
# into the parent directory and into debian/): build/deb/src, with the
# .deb and .buildinfo left in build/deb/.
cmd_deb() {
    install_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}" "${deb_pkgs[@]}"
    local out=$top/build/deb
    rm -rf "$out"
    mkdir -p "$out/src"
    tar -C "$top" --exclude=./.git --exclude=./build --exclude='./_build*' \
        --exclude=./autom4te.cache --exclude=./tests/fuzz/obj \
        --exclude=./tests/fuzz/bin --exclude=./tests/fuzz/work \
        --exclude=./tests/fuzz/config -cf - . | tar -C "$out/src" -xf -
    (cd "$out/src" && dpkg-checkbuilddeps) || die "build dependencies missing (above)"
    log "dpkg-buildpackage -us -uc -b in $out/src${DEB_BUILD_OPTIONS:+ (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)}"
    (cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 \
        || { tail -n 80 "$out/build.log" >&2; die "dpkg-buildpackage failed ($out/build.log)"; }
    log "lintian"
    lintian --fail-on error "$out"/fastbank_*.changes >&2 \
        || die "lintian found errors in the package"
    ls "$out"/*.deb
}

case "${1:-}" in
    serve) cmd_serve ;;
    test)  cmd_test ;;
    bench) cmd_bench ;;
    build) cmd_build ;;
    deb)   cmd_deb ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
