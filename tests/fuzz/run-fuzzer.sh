#!/bin/sh
# tests/fuzz/run-fuzzer.sh BIN DICT WORKDIR SEEDS [REGRESSIONS]: one
# libFuzzer run as a TAP test (meson suite 'fuzz', see meson.build).
#
# Fuzzes BIN for $FUZZ_SECONDS (default 60) with dictionary DICT ('' for
# none), starting from the inputs it found in earlier runs
# (WORKDIR/corpus/TARGET/, which grows: new inputs go there, never into
# the source tree), the seed corpus and the regression inputs.  One TAP
# line: ok with the run's figures, or not ok when libFuzzer stopped on a
# crash, a leak, an input slower than 10 s or too much memory, naming the
# input it saved and showing the end of its log.  The whole log is
# WORKDIR/TARGET.log.
set -u
[ $# -ge 4 ] || { echo "usage: $0 BIN DICT WORKDIR SEEDS [REGRESSIONS]" >&2; exit 2; }
bin=$1 dict=$2 work=$3
shift 3
target=$(basename "$bin")
seconds=${FUZZ_SECONDS:-60}
corpus=$work/corpus/$target
artifacts=$work/artifacts/$target
log=$work/$target.log
stamp=$work/$target.started
mkdir -p "$corpus" "$artifacts"
touch "$stamp"

seeds=$1 regressions=${2:-}
set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus"
# A new target may have no seeds or no regressions yet.
[ -d "$seeds" ] && set -- "$@" "$seeds"
[ -n "$regressions" ] && [ -d "$regressions" ] && set -- "$@" "$regressions"
[ -n "$dict" ] && set -- -dict="$dict" "$@"

echo "1..1"
echo "# $target for ${seconds} s; log $log"
# libFuzzer stops itself after max_total_time; the kill is for a hang in
# libFuzzer's own shutdown.
timeout --signal=KILL $((seconds + 300)) "$bin" "$@" >"$log" 2>&1
rc=$?
done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ $rc -eq 0 ] && [ -n "$done_line" ]; then
    figures=$(echo "$done_line" | sed -E 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+//;
        s/[[:space:]]+lim:[^[:space:]]+//')
    echo "ok 1 - $target: ${seconds} s, ${runs:-?} runs, $figures"
    exit 0
fi
echo "not ok 1 - $target: libFuzzer exited with status $rc"
find "$artifacts" -type f -newer "$stamp" | sed 's/^/# saved input: /'
echo "# minimize: $bin -minimize_crash=1 -runs=100000 -artifact_prefix=$artifacts/min- INPUT"
echo "# then copy it into tests/fuzz/regressions/$target/ (docs/security.md)"
tail -n 80 "$log" | sed 's/^/# /'
exit 1
