#!/usr/bin/env python3
"""Count test results from meson's testlog.json files.

Every test of vmwire speaks TAP, so the real count is the number of `ok` and
`not ok` lines each test printed, not the number of test programs.  A `ok ...
# SKIP` line counts as skipped, never as passed.  A program that failed
without printing any failing TAP line (a crash, a timeout, a bad plan) counts
as one more failure.

A log may be preceded by `--expect SPEC`, the test programs that log must
hold a result for; each one without a result is named on a line of its own
and counts as one more failure, so a test dropped from the build or from a
list cannot vanish from the total.  SPEC is one of

    BUILD               every test registered in the build directory BUILD
                        (BUILD/meson-info/intro-tests.json, what
                        `meson introspect --tests BUILD` prints)
    BUILD:suite=SUITE[,no-suite=OTHER]
                        the tests of BUILD in suite SUITE and not in OTHER
                        (as meson test --suite/--no-suite select them)
    BUILD:NAME,NAME...  these tests; a name BUILD does not register fails too

Every failing TAP line is echoed as "count-tests: FAIL LOG: TEST: LINE" just
before the last line, so the tail of a CI log names what failed.  Prints one
line last: "N passed, N failed[, N skipped]" and exits non-zero if anything
failed or no test ran at all.

    count-tests.py [--expect SPEC] LOG [[--expect SPEC] LOG ...]
"""
import json
import os
import re
import sys
from typing import Dict, List, Optional, Set, Tuple

TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')

Totals = Dict[str, int]


def registered_tests(build: str) -> List[Tuple[str, List[str]]]:
    """(name, suites) of every test registered in @build; OSError if none."""
    path = os.path.join(build, 'meson-info', 'intro-tests.json')
    with open(path, encoding='utf-8') as f:
        tests = json.load(f)
    return [(t['name'], list(t.get('suite', []))) for t in tests]


def in_suite(suites: List[str], suite: str) -> bool:
    """Meson names suites 'project:suite'; accept either spelling."""
    return any(s == suite or s.split(':', 1)[-1] == suite for s in suites)


def suite_tests(registered: List[Tuple[str, List[str]]],
                what: str) -> Set[str]:
    """The tests 'suite=A[,no-suite=B]' selects."""
    keys = dict(part.partition('=')[::2] for part in what.split(','))
    suite, other = keys.get('suite', ''), keys.get('no-suite')
    return {n for n, s in registered
            if in_suite(s, suite) and not (other and in_suite(s, other))}


def expected_tests(spec: str) -> Tuple[Set[str], List[str]]:
    """The names @spec expects, and the errors found while reading it."""
    build, _, what = spec.partition(':')
    try:
        registered = registered_tests(build)
    except (OSError, ValueError) as e:
        return set(), [f'{build}: no registered tests ({e})']
    names = {name for name, _ in registered}
    if not what:
        return names, []
    if what.startswith('suite='):
        return suite_tests(registered, what), []
    wanted = {n for n in what.split(',') if n}
    errors = [f'{n}: listed but not registered in {build}'
              for n in sorted(wanted - names)]
    return wanted & names, errors


def entry_name(entry: Dict[str, object]) -> str:
    """The test's name in a testlog entry ('project:suite / name')."""
    return str(entry.get('name', '')).rsplit(' / ', 1)[-1]


FAILURES: List[str] = []


def count_entry(entry: Dict[str, object], totals: Totals, log: str) -> None:
    passed = failed = skipped = 0
    for out in str(entry.get('stdout', '')).splitlines():
        m = TAP_LINE.match(out)
        if not m:
            continue
        if m.group(1) == 'not ok':
            failed += 1
            FAILURES.append(f'count-tests: FAIL {log}: '
                            f'{entry_name(entry)}: {out.strip()[:200]}')
        elif re.search(r'#\s*SKIP', m.group(2), re.I):
            skipped += 1
        else:
            passed += 1
    if entry.get('result') not in ('OK', 'EXPECTEDFAIL') and failed == 0:
        failed = 1
        print(f"count-tests: {entry.get('name')}: {entry.get('result')}")
        FAILURES.append(f'count-tests: FAIL {log}: {entry_name(entry)}: '
                        f"{entry.get('result')} without a failing TAP line")
    totals['passed'] += passed
    totals['failed'] += failed
    totals['skipped'] += skipped


def count_log(path: str, totals: Totals, expect: Optional[str]) -> None:
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        print(f'count-tests: {path}: missing (that step did not run)')
        FAILURES.append(f'count-tests: FAIL {path}: missing')
        totals['failed'] += 1
        return
    seen = set()
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        seen.add(entry_name(entry))
        count_entry(entry, totals, os.path.basename(path))
    if expect is None:
        return
    wanted, errors = expected_tests(expect)
    errors += [f'{name}: registered but has no result'
               for name in sorted(wanted - seen)]
    for error in errors:
        print(f'count-tests: {path}: {error}')
        FAILURES.append(f'count-tests: FAIL {path}: {error}')
    totals['failed'] += len(errors)


def parse_args(argv: List[str]) -> List[Tuple[str, Optional[str]]]:
    """(log, expect spec or None) pairs, in order."""
    logs: List[Tuple[str, Optional[str]]] = []
    expect: Optional[str] = None
    args = iter(argv)
    for arg in args:
        if arg == '--expect':
            expect = next(args, None)
            if expect is None:
                raise SystemExit('count-tests: --expect needs a SPEC')
            continue
        logs.append((arg, expect))
        expect = None
    if expect is not None:
        raise SystemExit('count-tests: --expect without a log after it')
    return logs


def main(argv: List[str]) -> int:
    totals: Totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    for path, expect in parse_args(argv):
        count_log(path, totals, expect)
    for failure in FAILURES:
        print(failure)
    line = f"{totals['passed']} passed, {totals['failed']} failed"
    if totals['skipped']:
        line += f", {totals['skipped']} skipped"
    print(line)
    return 1 if totals['failed'] or not totals['passed'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
