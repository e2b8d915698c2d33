#!/usr/bin/env bash
# Builds vmwire without sanitizers in $VALGRIND_BUILD (default build-valgrind)
# and runs the unit tests and the command-line/stream qtests with every
# program under valgrind's memcheck: any leak or memory error fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${VALGRIND_BUILD:-build-valgrind}
[ -f "$dir/build.ninja" ] || meson setup "$dir" -Dwerror=true -Dbuildtype=debug
ninja -C "$dir"
export VMWIRE_VALGRIND=1
exec meson test -C "$dir" --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 \
    --wrap='valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no' \
    --suite unit "$@"
