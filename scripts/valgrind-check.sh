#!/usr/bin/env bash
# Builds vmwire without sanitizers in $VALGRIND_BUILD (default build-valgrind)
# and runs there the allocation-counting test (it needs the plain malloc),
# then, under valgrind's memcheck, every unit test (but the scripts,
# suite 'script') and the qtests that drive the daemon without a
# guest.  A leak (definite or indirect) or a
# memory error makes valgrind exit 99, which fails the test.
#   alloc test -> meson-logs/alloc.json
#   unit tests -> meson-logs/valgrind-unit-valgrind.json (meson adds the
#                 wrapper name)
#   qtests     -> meson-logs/valgrind-qtest.json
# `valgrind-check.sh --list-qtests` prints the qtests it runs, one a line
# (.ci/run hands them to scripts/count-tests.py, which fails if one has no
# result); a name in the list that the build does not register fails the
# run before anything starts.
set -euo pipefail
cd "$(dirname "$0")/.."

qtests=(test-cmdline test-stream-peers test-multi-peers test-qmp-net
        test-service test-qmp test-qmp-fuzz test-port-counters
        test-mac-table test-vhost-user-peers test-vhost-user-hub
        test-vhost-user-rings test-vhost-user-netdev test-vhost-user-faults
        test-vxlan-linux)

if [ "${1:-}" = --list-qtests ]; then
    printf '%s\n' "${qtests[@]}"
    exit 0
fi

dir=${VALGRIND_BUILD:-build-valgrind}
[ -f "$dir/build.ninja" ] || meson setup "$dir" -Dwerror=true -Dbuildtype=debug
ninja -C "$dir"

registered=$(meson introspect --tests "$dir" |
    python3 -c 'import json, sys; print("\n".join(t["name"] for t in json.load(sys.stdin)))')
for t in "${qtests[@]}"; do
    if ! grep -qxF "$t" <<<"$registered"; then
        echo "valgrind-check.sh: $t is in its list but $dir registers no such test" >&2
        exit 1
    fi
done

vg="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect"
vg="$vg --errors-for-leak-kinds=definite,indirect --error-exitcode=99"

rc=0
meson test -C "$dir" --print-errorlogs --logbase alloc --suite alloc || rc=1
meson test -C "$dir" --print-errorlogs --num-processes 2 \
    --timeout-multiplier 5 --logbase valgrind-unit --wrap="$vg" \
    --suite unit --no-suite script || rc=1
VMWIRE_WRAPPER="$vg" VMWIRE_TIMEOUT_SCALE=6 \
meson test -C "$dir" --print-errorlogs --num-processes 2 \
    --timeout-multiplier 5 --logbase valgrind-qtest \
    "${qtests[@]}" || rc=1
exit $rc
