#!/bin/sh
# The ports cells' generator (stream-mux.c) catches what it must, in TAP:
# through a healthy vmwire, ports/2 and ports/32 exit 0; with --fault,
# flow 0 loses, duplicates or damages its frame 100 on the way out, and
# vmwire-bench must exit 1 with a FAIL line saying which frame was bad
# and how.  BENCH and VMWIRE_BIN are set by tests/bench/meson.build.
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "$(dirname "$0")/../tap.sh"
TAP_LOG="$out"
cell="--relays vmwire --cells ports --ports 2,32 --repeat 1 --seconds 0.3"

echo 1..7
# shellcheck disable=SC2086
"$BENCH" --vmwire "$VMWIRE_BIN" $cell >"$out" 2>&1
tap_check $? "a healthy vmwire: ports/2 and ports/32 exit 0"

check_fault() {     # check_fault KIND WHAT-THE-NOTE-SAYS
    # shellcheck disable=SC2086
    "$BENCH" --vmwire "$VMWIRE_BIN" $cell --fault "$1" >"$out" 2>&1
    rc=$?
    [ "$rc" -eq 1 ]
    tap_check $? "--fault $1: exit status 1 ($rc)"
    [ "$(grep -c "FAIL ports/[0-9]* vmwire: flow 0: .*$2" "$out")" -eq 2 ]
    tap_check $? "--fault $1: both cells fail, and say '$2'"
}
check_fault lose "frame #100 has seq 101 (lost before it)"
check_fault duplicate "frame #101 has seq 100 (duplicate)"
check_fault damage "frame #100 has seq 100 (damaged)"
tap_done
