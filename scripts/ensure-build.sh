#!/usr/bin/env bash
# scripts/ensure-build.sh BUILD [-Dkey=value ...]: make BUILD a meson build
# directory configured with these options.  A missing directory is set up;
# an existing one whose options differ (`meson introspect --buildoptions`,
# e.g. a build/ configured without -Db_sanitize=address,undefined) gets
# them with `meson configure` (meson 1.0's `setup --reconfigure` ignores
# -Db_* options of an existing directory); the next ninja run regenerates
# it.  One that matches is left alone.  Prints what it did.  The Makefile's `check` and `build` use it.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD [-Dkey=value ...]" >&2; exit 2; }
build=$1
shift

if [ ! -f "$build/build.ninja" ]; then
    echo "ensure-build: $build: new build directory"
    exec meson setup "$build" "$@"
fi

# The options that differ, as "key: want=X have=Y", one a line.
differ=$(meson introspect --buildoptions "$build" | python3 -c '
import json, sys

have = {}
for o in json.load(sys.stdin):
    v = o["value"]
    if isinstance(v, bool):
        v = "true" if v else "false"
    elif isinstance(v, list):
        v = ",".join(str(x) for x in v)
    have[o["name"]] = str(v)
for arg in sys.argv[1:]:
    if not arg.startswith("-D") or "=" not in arg:
        continue
    key, _, want = arg[2:].partition("=")
    got = have.get(key, "(unknown)")
    if got != want:
        print(f"{key}: want={want} have={got}")
' "$@")

if [ -z "$differ" ]; then
    echo "ensure-build: $build: options as asked"
    exit 0
fi
echo "ensure-build: $build: configured with other options, reconfiguring:"
sed 's/^/  /' <<<"$differ"
exec meson configure "$build" "$@"
