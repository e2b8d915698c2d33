#!/bin/sh
# vmwire-bench's exit status, in TAP: a healthy vmwire through one short
# stream cell exits 0; a vmwire killed by SIGSEGV in the middle of the
# cell (crashing-vmwire.sh) makes vmwire-bench exit non-zero with a line
# naming the death.  BENCH and VMWIRE_BIN are set by tests/bench/meson.build.
set -u
here=$(dirname "$0")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "$(dirname "$0")/../tap.sh"
TAP_LOG="$out"
cell="--relays vmwire --cells stream --sizes 1500 --repeat 1"

echo 1..3
# shellcheck disable=SC2086
"$BENCH" --vmwire "$VMWIRE_BIN" $cell --seconds 0.5 >"$out" 2>&1
tap_check $? "a healthy vmwire: exit status 0"

export VMWIRE_BIN
# shellcheck disable=SC2086
CRASH_AFTER=1.5 "$BENCH" --vmwire "$here/crashing-vmwire.sh" $cell \
    --seconds 4 >"$out" 2>&1
rc=$?
[ "$rc" -ne 0 ]
tap_check $? "vmwire killed by SIGSEGV mid-cell: non-zero exit status ($rc)"
grep -q "FAIL stream/1500 vmwire: relay died: killed by signal 11" "$out"
tap_check $? "the FAIL line names the death"
tap_done
