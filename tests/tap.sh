# tests/tap.sh: TAP for the shell tests (sourced).  Set TAP_LOG to the
# file whose lines a failing check shows as its diagnosis, then call
# `tap_check STATUS DESCRIPTION` per check; `tap_done` exits non-zero if
# any check failed.
n=0
fails=0
tap_check() {   # tap_check STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        fails=$((fails + 1))
        sed 's/^/# /' "$TAP_LOG"
    fi
}
tap_done() {
    [ "$fails" -eq 0 ]
}
