#!/usr/bin/env bash
# scripts/fuzz-long.sh OUTDIR [SECONDS]: the documented long run
# (docs/security.md, "Record of runs"): every fuzz target of tests/fuzz/
# (or those named in $FUZZ_TARGETS) for SECONDS (default 3600), all at once, each one process at nice 19 (the
# machine is shared), in libFuzzer's fork mode so that a crash, a leak or
# a timeout is saved (OUTDIR/TARGET-crash-*, -timeout-*, -leak-*) and the
# run goes on.  Each target logs to OUTDIR/TARGET.log and keeps what it
# found in OUTDIR/corpus-TARGET/ (a second run continues from it).  At the
# end the final corpus is replayed once without fork mode, so the figures
# in OUTDIR/TARGET.summary (executions, cov, ft, corpus, findings) are
# comparable with `make fuzz`'s.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [SECONDS]" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=$(realpath -m "$1")
seconds=${2:-3600}
build=${FUZZ_BUILD:-build-fuzz}
mkdir -p "$out"

./scripts/fuzz.sh --setup-only
targets=$(meson introspect --tests "$build" | python3 -c '
import json, sys
print(" ".join(t["name"] for t in json.load(sys.stdin)
               if any(s.split(":")[-1] == "fuzz" for s in t["suite"])))')
# FUZZ_TARGETS="fuzz-stream fuzz-dgram": only those (nine targets at once
# share two cores badly; the hour runs can go in groups).
targets=${FUZZ_TARGETS:-$targets}
ninja -C "$build" $(printf 'tests/fuzz/%s ' $targets)

run_one() {     # run_one TARGET
    local t=$1 bin=$build/tests/fuzz/$1 log=$out/$1.log dict=() seeds=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
    mkdir -p "$out/corpus-$t"
    echo "$t: started $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)" \
        >"$out/$t.summary"
    /usr/bin/time -f '%U %S' -o "$out/$t.cpu" \
    nice -n 19 "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
        -ignore_ooms=1 -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 "${dict[@]}" -artifact_prefix="$out/$t-" \
        "$out/corpus-$t" "${seeds[@]}" >"$log" 2>&1 || true
    {
        echo "ended $(date -u +%FT%TZ)"
        # CPU the run had (fuzzer and its fork-mode workers): with several
        # targets at once on a shared machine this, not the wall time,
        # says how much fuzzing a target got.
        tail -n 1 "$out/$t.cpu" | awk '{ printf "cpu seconds: %.0f\n", $1 + $2 }'
        grep -E '^#[0-9]+: cov:' "$log" | tail -n 1
        nice -n 19 "$bin" -runs=0 -timeout=10 "$out/corpus-$t" 2>&1 |
            grep -E '^#[0-9]+[[:space:]]+INITED' | sed 's/^/final corpus: /'
        echo "findings: $(find "$out" -maxdepth 1 -name "$t-*" | wc -l)"
        find "$out" -maxdepth 1 -name "$t-*" | sort
    } >>"$out/$t.summary"
}

for t in $targets; do
    run_one "$t" &
done
wait
cat "$out"/*.summary
