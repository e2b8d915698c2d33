#!/bin/sh
# The vhost-user cells of vmwire-bench as a test, in TAP: frames from the
# C frontend (tests/bench/vu-frontend.c) cross vmwire intact and in order
# (vhost-user to vhost-user, to a stream port, one in flight), also when
# every frame is spread over 16 RX buffers (MRG_RXBUF); a vmwire killed
# mid-cell fails the run with a line naming the death.  Figures are not
# checked.  BENCH and VMWIRE_BIN are set by tests/bench/meson.build.
set -u
here=$(dirname "$0")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "$(dirname "$0")/../tap.sh"
TAP_LOG="$out"
run="--relays vmwire --repeat 1 --seconds 0.3"

echo 1..5
# shellcheck disable=SC2086
"$BENCH" --vmwire "$VMWIRE_BIN" $run \
    --cells vhost-user,vhost-user-stream,vhost-user-rtt >"$out" 2>&1
tap_check $? "vhost-user cells through vmwire: exit status 0"
for cell in vhost-user/64 vhost-user/1500 vhost-user-stream/1500 \
            vhost-user-rtt; do
    grep -q "^| $cell | vmwire | [0-9.]* | [0-9.]* | [0-9.]* | 0.0000 | [0-9.]* | - | - | [-0-9.x]* | \(CPU s/s.*\)\? |$" "$out" || {
        echo "no intact row for $cell" >>"$out"; false; }
done
tap_check $? "a row without a failure note for each of them"

# shellcheck disable=SC2086
"$BENCH" --vmwire "$VMWIRE_BIN" $run --cells vhost-user/1500 \
    --vu-rx-buffer 100 >"$out" 2>&1
tap_check $? "1500-byte frames over 16 RX buffers each: intact"

export VMWIRE_BIN
# shellcheck disable=SC2086
CRASH_AFTER=1.5 "$BENCH" --vmwire "$here/crashing-vmwire.sh" $run \
    --cells vhost-user/1500 --seconds 4 >"$out" 2>&1
rc=$?
[ "$rc" -ne 0 ]
tap_check $? "vmwire killed by SIGSEGV mid-cell: non-zero exit status ($rc)"
grep -q "FAIL vhost-user/1500 vmwire: relay died: killed by signal 11" "$out"
tap_check $? "the FAIL line names the death"
tap_done
