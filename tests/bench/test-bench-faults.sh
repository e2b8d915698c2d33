#!/bin/sh
# The ports cells' generator (stream-mux.c) catches what it must, in TAP:
# through a healthy vmwire, ports/2 and ports/32 exit 0; with --fault,
# flow 0 loses, duplicates or damages its frame 100 on the way out, and
# vmwire-bench must exit 1 with a FAIL line saying which frame was bad
# and how.  The same checks hold through the byte-copy relay of the ports
# cells (copy-ports.c): its rows have figures and no note, and a lost
# frame is reported (not a vmwire failure: exit 0).  BENCH and VMWIRE_BIN
# are set by tests/bench/meson.build.
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "$(dirname "$0")/../tap.sh"
TAP_LOG="$out"
cell="--relays vmwire --cells ports --ports 2,32 --repeat 1 --seconds 0.3"

echo 1..11
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

copy="--relays copy --cells ports --ports 2,8 --repeat 1 --seconds 0.3"
copy_row_ok() {     # copy_row_ok CELL: Mpps above 0, an empty note
    awk -F' *[|] *' -v c="$1" '$2 == c && $3 == "copy" && $4 > 0 &&
        $12 == "" { ok = 1 } END { exit !ok }' "$out"
}
# shellcheck disable=SC2086
"$BENCH" $copy >"$out" 2>&1
tap_check $? "copy relay: ports/2 and ports/8 exit 0"
copy_row_ok ports/2
tap_check $? "copy relay: ports/2 has a figure and no note"
copy_row_ok ports/8
tap_check $? "copy relay: ports/8 has a figure and no note"
# shellcheck disable=SC2086
"$BENCH" $copy --fault lose >"$out" 2>&1
[ "$(grep -c "ports/[0-9]* copy: flow 0: .*(lost before it).*(reported" \
    "$out")" -eq 2 ]
tap_check $? "copy relay, --fault lose: both cells report the lost frame"
tap_done
