#!/usr/bin/env bash
# scripts/fuzz.sh [TARGET...]: the libFuzzer harnesses of tests/fuzz/, built
# with clang, ASan and UBSan in $FUZZ_BUILD (default build-fuzz/; warnings
# are errors, as in the gcc builds: clang has some gcc does not), each
# fuzzed for $FUZZ_SECONDS (default 60) as meson suite 'fuzz' (all targets,
# or the ones named, e.g. fuzz-virtq), one after the other.  Exits non-zero
# if any run stopped on a crash, a leak or a timeout; the saved input and
# how to minimize it are in the test's output (docs/security.md,
# "Fuzzing").  `make fuzz` and .ci/run call it; the results are in
# $FUZZ_BUILD/meson-logs/fuzz.json (scripts/count-tests.py reads it).
# `scripts/fuzz.sh --setup-only` only makes $FUZZ_BUILD ready
# (scripts/fuzz-long.sh uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-build-fuzz}
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}

# meson cannot change an existing build directory's compiler.
compiler() {    # the C compiler BUILD's targets are compiled with
    meson introspect --targets "$1" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    for s in t.get("target_sources", []):
        if s.get("language") == "c":
            print(s["compiler"][0])
            sys.exit(0)'
}
if [ -f "$build/build.ninja" ] && [ "$(compiler "$build")" != clang ]; then
    echo "fuzz.sh: $build was set up with another compiler than clang;" \
         "remove it or set FUZZ_BUILD" >&2
    exit 2
fi
# A failed build must not leave the last run's results to be counted.
rm -f "$build/meson-logs/fuzz.json"
CC=clang ./scripts/ensure-build.sh "$build" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
    -Dc_args=-fsanitize=fuzzer-no-link
if [ "${1:-}" = --setup-only ]; then
    exit 0
fi
exec meson test -C "$build" --suite fuzz --logbase fuzz --num-processes 1 \
    --print-errorlogs "$@"
