#!/bin/sh
# A vmwire that crashes mid-cell, for test-bench-exit.sh: runs the real
# daemon ($VMWIRE_BIN) with the arguments given and sends it SIGSEGV
# $CRASH_AFTER seconds (default 1.5) after it started.  The daemon replaces
# this shell (exec), so vmwire-bench sees its relay killed by signal 11.
# ASan's own SIGSEGV handler is turned off so the signal is what kills it.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
export ASAN_OPTIONS
pid=$$
(sleep "${CRASH_AFTER:-1.5}"; kill -SEGV "$pid" 2>/dev/null) &
exec "$VMWIRE_BIN" "$@"
