#!/usr/bin/env python3
"""Count test results from meson's testlog.json files.

Every test of vmwire speaks TAP, so the real count is the number of `ok` and
`not ok` lines each test printed, not the number of test programs.  A `ok ...
# SKIP` line counts as skipped, never as passed.  A program that failed
without printing any failing TAP line (a crash, a timeout, a bad plan) counts
as one more failure.  Prints one line: "N passed, N failed[, N skipped]" and
exits non-zero if anything failed or no test ran at all.
"""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')


def count_log(path, totals):
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except OSError:
        print(f'count-tests: {path}: missing (that step did not run)')
        totals['failed'] += 1
        return
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        passed = failed = skipped = 0
        for out in entry.get('stdout', '').splitlines():
            m = TAP_LINE.match(out)
            if not m:
                continue
            if m.group(1) == 'not ok':
                failed += 1
            elif re.search(r'#\s*SKIP', m.group(2), re.I):
                skipped += 1
            else:
                passed += 1
        if entry.get('result') not in ('OK', 'EXPECTEDFAIL') and failed == 0:
            failed = 1
            print(f"count-tests: {entry.get('name')}: {entry.get('result')}")
        totals['passed'] += passed
        totals['failed'] += failed
        totals['skipped'] += skipped


def main():
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    for path in sys.argv[1:]:
        count_log(path, totals)
    line = f"{totals['passed']} passed, {totals['failed']} failed"
    if totals['skipped']:
        line += f", {totals['skipped']} skipped"
    print(line)
    return 1 if totals['failed'] or not totals['passed'] else 0


if __name__ == '__main__':
    sys.exit(main())
