#!/usr/bin/env bash
# run.sh: build fastbank's libFuzzer harnesses with clang
# (-fsanitize=fuzzer,address,undefined) and run each on its seed corpus.
#
# usage: run.sh [--out DIR] [--time SECONDS] [--only NAME]... [--build-only]
#               [--regress]
#
#   --out DIR       build and work directory (default ./fuzz-out); the
#                   harnesses go to DIR/bin, new inputs to DIR/work/NAME
#   --time SECONDS  how long each harness runs (default 20)
#   --only NAME     run only this harness (json, route, handler, conffile,
#                   record);
#                   may be repeated
#   --build-only    build the harnesses and stop
#   --regress       run every seed (each crash kept as a regression input)
#                   once, without fuzzing
#
# Every harness first runs each input of tests/fuzz/corpus/NAME once (the
# regression pass), then fuzzes for --time seconds from there.  A crash,
# a sanitizer report or a broken promise stops the run with a non-zero
# exit status and leaves the input in DIR/work/crash-NAME-*; add it to
# tests/fuzz/corpus/NAME/ with the fix.  tests/fuzz/README says more.
#
# Environment: CC (default clang), CONFIG_H_DIR (a configured build tree;
# default: configure one under DIR), JSONC_CFLAGS/JSONC_LIBS and
# ATOMIC_OPS_CFLAGS/ATOMIC_OPS_LIBS (default: pkg-config).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
prog=run.sh

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }

out=$PWD/fuzz-out
secs=20
only=()
build_only=no
regress=no

while [ $# -gt 0 ]; do
    case $1 in
        --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
        --time) [ $# -ge 2 ] || die "--time needs seconds"; secs=$2; shift 2 ;;
        --only) [ $# -ge 2 ] || die "--only needs a name"; only+=("$2"); shift 2 ;;
        --build-only) build_only=yes; shift ;;
        --regress) regress=yes; shift ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] || die "--time takes a number of seconds, not '$secs'"

harnesses=(json route handler conffile record)
if [ ${#only[@]} -gt 0 ]; then
    for h in "${only[@]}"; do
        [ -f "$here/fuzz-$h.c" ] || die "no harness '$h' (have: ${harnesses[*]})"
    done
    harnesses=("${only[@]}")
fi

cc=${CC_FUZZ:-${CC:-clang}}
# configure's CC (gcc) is not a fuzzing compiler.
case $(basename "${cc%% *}") in
    clang*) ;;
    *) cc=clang ;;
esac
command -v "${cc%% *}" >/dev/null \
    || die "$cc not found: install the Debian packages clang and libclang-rt-14-dev"
pkgconf() {
    command -v pkg-config >/dev/null || die "pkg-config not found: install the Debian package pkg-config"
    pkg-config "$@"
}
jsonc_cflags=${JSONC_CFLAGS-$(pkgconf --cflags json-c)}
jsonc_libs=${JSONC_LIBS-$(pkgconf --libs json-c)}
ao_cflags=${ATOMIC_OPS_CFLAGS-}
ao_libs=${ATOMIC_OPS_LIBS-}

mkdir -p "$out"
out=$(cd "$out" && pwd)

# config.h: from the build tree make passes, or configure one here.
cfg=${CONFIG_H_DIR:-}
if [ -z "$cfg" ]; then
    cfg=$out/config
    if [ ! -f "$cfg/config.h" ]; then
        [ -x "$top/configure" ] || die "$top/configure not found: run ./autogen.sh"
        say "configure (for config.h) in $cfg"
        mkdir -p "$cfg"
        (cd "$cfg" && "$top/configure" -q CC="$cc") >&2 || die "configure failed"
    fi
fi
[ -f "$cfg/config.h" ] || die "$cfg/config.h not found"

# Everything a harness can reach without libfcgi: the store and the fcgi/
# sources but the server, the libfcgi glue and main().
sources=()
for f in "$top"/store/*.c "$top"/fcgi/fb_*.c; do
    case $(basename "$f") in
        fb_main.c|fb_server.c|fb_fcgx.c) ;;
        *) sources+=("$f") ;;
    esac
done

san="-fsanitize=address,undefined -fno-sanitize-recover=all"
cflags="-g -O1 -fno-omit-frame-pointer $san -DHAVE_CONFIG_H
        -I$cfg -I$top/store -I$top/fcgi -I$here $jsonc_cflags $ao_cflags"
# The library under test: edge coverage for the fuzzer.
libflags="$cflags -fsanitize=fuzzer-no-link"

mkdir -p "$out/obj" "$out/bin" "$out/work"
say "build: $cc (libFuzzer, ASan, UBSan)"
objs=()
for f in "${sources[@]}"; do
    o=$out/obj/$(basename "${f%.c}").o
    # shellcheck disable=SC2086
    $cc $libflags -c "$f" -o "$o" || die "compiling $f failed"
    objs+=("$o")
done
for h in "${harnesses[@]}"; do
    # shellcheck disable=SC2086
    $cc $cflags -fsanitize=fuzzer "$here/fuzz-$h.c" "${objs[@]}" \
        $jsonc_libs $ao_libs -lpthread -o "$out/bin/fuzz-$h" \
        || die "building fuzz-$h failed (is libclang-rt-14-dev installed?)"
done
[ "$build_only" = no ] || { say "built: ${harnesses[*]} in $out/bin"; exit 0; }

failed=()
for h in "${harnesses[@]}"; do
    seeds=$here/corpus/$h
    [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || die "no seed corpus in $seeds"
    work=$out/work/$h
    mkdir -p "$work"
    dict=()
    [ -f "$here/fastbank.dict" ] && [ "$h" != conffile ] && dict=(-dict="$here/fastbank.dict")
    [ -f "$here/conffile.dict" ] && [ "$h" = conffile ] && dict=(-dict="$here/conffile.dict")
    log=$out/work/$h.log

    # The regression pass: every seed and every kept crash input, once.
    say "fuzz-$h: $(ls "$seeds" | wc -l) seed inputs, once each"
    if ! (cd "$out/work" && "$out/bin/fuzz-$h" -runs=0 "${dict[@]}" \
              -artifact_prefix="$out/work/crash-$h-" "$seeds") >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        failed+=("$h (a seed input)")
        continue
    fi
    [ "$regress" = no ] || continue

    say "fuzz-$h: $secs s"
    if ! (cd "$out/work" && "$out/bin/fuzz-$h" -max_total_time="$secs" \
              -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
              "${dict[@]}" -artifact_prefix="$out/work/crash-$h-" \
              "$work" "$seeds") >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        failed+=("$h")
        continue
    fi
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added)' "$log" \
        | sed "s/^/    fuzz-$h: /" >&2 || true
done

if [ ${#failed[@]} -gt 0 ]; then
    printf '%s: failed: %s\n' "$prog" "${failed[*]}" >&2
    ls "$out"/work/crash-* "$out"/work/leak-* "$out"/work/timeout-* "$out"/work/oom-* 2>/dev/null \
        | sed 's/^/    input: /' >&2 || true
    echo "$prog: reproduce with $out/bin/fuzz-NAME INPUT; keep the input in tests/fuzz/corpus/NAME/ with the fix" >&2
    exit 1
fi
say "fuzzing passed: ${harnesses[*]}"
