#!/usr/bin/env bash
# scripts/fuzz-coverage.sh RUNDIR [TARGET...]: line and branch coverage of
# what fuzzing reached (docs/security.md, "Record of runs").  Builds the
# fuzz targets once more in $COV_BUILD (default build-fuzz-cov/: clang,
# libFuzzer, source-based coverage, no sanitizers, warnings are errors),
# replays each target's final corpus (RUNDIR/corpus-TARGET/, as
# scripts/fuzz-long.sh leaves it, plus the seeds in
# tests/fuzz/corpus/TARGET/) once with -runs=0, and prints llvm-cov's
# report for the files that target is about.  Targets: those named, else
# every corpus-* in RUNDIR.  Profiles and reports stay in RUNDIR/coverage/.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 RUNDIR [TARGET...]" >&2; exit 2; }
cd "$(dirname "$0")/.."
run=$(realpath "$1")
shift
build=${COV_BUILD:-build-fuzz-cov}
out=$run/coverage
mkdir -p "$out"

# The files each target exists to exercise (the harness's "code under
# test", docs/security.md's table).
files_of() {
    case $1 in
    fuzz-virtq)          echo net/virtq.c ;;
    fuzz-vhost-user-msg) echo net/vhost-user-dev.c net/virtq.c ;;
    fuzz-stream)         echo net/stream-conn.c net/stream-framing.c ;;
    fuzz-dgram)          echo net/dgram-conn.c ;;
    fuzz-nic-stub)       echo hw/nic-stub/nic-stub.c hw/nic-stub/nic-stub-guest.c ;;
    fuzz-hub)            echo net/hub.c ;;
    fuzz-netdev-opts)    echo util/keyval.c net/netdev.c ;;
    fuzz-qmp)            echo monitor/json-splitter.c monitor/qmp.c ;;
    fuzz-slirp)          echo net/slirp.c ;;
    *) echo "fuzz-coverage: no file list for $1" >&2; return 1 ;;
    esac
}

if [ $# -eq 0 ]; then
    set -- $(cd "$run" && ls -d corpus-* | sed 's/^corpus-//')
fi
CC=clang ./scripts/ensure-build.sh "$build" -Dfuzzing=true \
    -Db_lundef=false -Dwerror=true \
    "-Dc_args=-fsanitize=fuzzer-no-link -fprofile-instr-generate -fcoverage-mapping" \
    "-Dc_link_args=-fprofile-instr-generate"
ninja -C "$build" $(printf 'tests/fuzz/%s ' "$@") >/dev/null

for t in "$@"; do
    bin=$build/tests/fuzz/$t
    seeds=()
    [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
    rm -f "$out/$t".*.profraw
    LLVM_PROFILE_FILE="$out/$t.%p.profraw" nice -n 10 "$bin" -runs=0 \
        -timeout=10 "$run/corpus-$t" "${seeds[@]}" >"$out/$t.replay.log" 2>&1
    llvm-profdata merge -sparse -o "$out/$t.profdata" "$out/$t".*.profraw
    llvm-cov report "$bin" -instr-profile="$out/$t.profdata" >"$out/$t.report"
    echo "== $t ($(ls "$run/corpus-$t" | wc -l) corpus inputs)"
    # File, lines missed, line coverage, branches missed, branch coverage.
    # (llvm-cov prints paths without their leading /.)
    for f in $(files_of "$t"); do
        awk -v f="${PWD#/}/$f" '$1 == f && NF >= 13 {
                 printf "%-32s lines %s (%s of %s missed)  branches %s\n",
                        substr(f, length(f) - length("'"$f"'") + 1),
                        $10, $9, $8, $13 }' "$out/$t.report"
    done
done
