#!/bin/sh
# scripts/ensure-build.sh, in TAP, on a scratch one-line meson project: a
# build directory configured without the sanitizers is reconfigured with
# the options asked for (the Makefile's MESON_OPTS), one configured with
# them is left alone, and a missing one is set up.  ENSURE_BUILD is the
# script's path.
set -u
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
opts="-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true"
. "$(dirname "$0")/../tap.sh"
TAP_LOG="$top/out"
option() {      # option BUILD NAME: the option's configured value
    meson introspect --buildoptions "$1" | python3 -c '
import json, sys
v = [o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]][0]
print(str(v).lower() if isinstance(v, bool) else v)' "$2"
}

echo 1..6
mkdir "$top/src"
echo "project('scratch', 'c')" > "$top/src/meson.build"
cd "$top/src"

meson setup "$top/b" -Db_sanitize=none >"$top/out" 2>&1
tap_check $? "a scratch build directory without sanitizers"
# shellcheck disable=SC2086
"$ENSURE_BUILD" "$top/b" $opts >"$top/out" 2>&1
tap_check $? "ensure-build.sh on it"
grep -q "reconfiguring" "$top/out" && grep -q "b_sanitize: want=address,undefined have=none" "$top/out"
tap_check $? "it says what differed and reconfigures"
[ "$(option "$top/b" b_sanitize)" = address,undefined ] &&
    [ "$(option "$top/b" werror)" = true ] &&
    [ "$(option "$top/b" b_lundef)" = false ]
tap_check $? "b_sanitize=address,undefined, werror, no b_lundef afterwards"
# shellcheck disable=SC2086
"$ENSURE_BUILD" "$top/b" $opts >"$top/out" 2>&1 && grep -q "options as asked" "$top/out"
tap_check $? "a directory configured as asked is left alone"
# shellcheck disable=SC2086
"$ENSURE_BUILD" "$top/new" $opts >"$top/out" 2>&1 &&
    [ "$(option "$top/new" b_sanitize)" = address,undefined ]
tap_check $? "a missing directory is set up with the options"
tap_done
