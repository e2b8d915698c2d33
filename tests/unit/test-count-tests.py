#!/usr/bin/env python3
"""scripts/count-tests.py on fabricated logs, in TAP.

A fabricated build directory registers three tests (meson-info/
intro-tests.json, as `meson introspect --tests` reads it); fabricated
testlog.json files hold results for all of them or miss one.  A registered
program without a result must fail the count and be named; a complete log
passes with the usual "N passed, N failed" line.  COUNT_TESTS is the
script's path.
"""
import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

SCRIPT = os.environ.get('COUNT_TESTS', os.path.join(
    os.path.dirname(__file__), '..', '..', 'scripts', 'count-tests.py'))

REGISTERED = [('test-a', ['vmwire:unit']), ('test-b', ['vmwire:unit']),
              ('test-c', ['vmwire:qtest']),
              ('test-lint', ['vmwire:unit', 'vmwire:lint'])]

results: List[bool] = []


def ok(cond: bool, what: str) -> None:
    results.append(cond)
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {what}")


def make_build(top: str) -> str:
    build = os.path.join(top, 'build')
    os.makedirs(os.path.join(build, 'meson-info'))
    tests = [{'name': n, 'suite': s, 'cmd': [n, '--tap']}
             for n, s in REGISTERED]
    with open(os.path.join(build, 'meson-info', 'intro-tests.json'),
              'w', encoding='utf-8') as f:
        json.dump(tests, f)
    return build


def make_log(top: str, name: str, tests: List[str]) -> str:
    path = os.path.join(top, name)
    suites = dict(REGISTERED)
    with open(path, 'w', encoding='utf-8') as f:
        for t in tests:
            entry: Dict[str, object] = {
                'name': f'{suites[t][0]} / {t}', 'result': 'OK',
                'stdout': '1..2\nok 1 /x/one\nok 2 /x/two\n'}
            f.write(json.dumps(entry) + '\n')
    return path


def run(*args: str) -> Tuple[int, str]:
    p = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                       text=True, check=False)
    return p.returncode, p.stdout + p.stderr


def main() -> int:
    print('1..14')
    with tempfile.TemporaryDirectory(prefix='count-tests-') as top:
        build = make_build(top)
        full = make_log(top, 'full.json',
                        ['test-a', 'test-b', 'test-c', 'test-lint'])
        short = make_log(top, 'short.json', ['test-a', 'test-c', 'test-lint'])
        unit = make_log(top, 'unit.json', ['test-a', 'test-b'])

        rc, out = run('--expect', build, full)
        ok(rc == 0, 'a complete log passes')
        ok(out.splitlines()[-1] == '8 passed, 0 failed',
           'the last line stays "N passed, N failed"')

        rc, out = run('--expect', build, short)
        ok(rc != 0, 'a registered program without a result fails')
        ok('test-b: registered but has no result' in out,
           'the missing program is named')
        ok(out.splitlines()[-1] == '6 passed, 1 failed',
           'and counts as one failure')

        rc, out = run('--expect', f'{build}:suite=qtest', short)
        ok(rc == 0, 'suite=qtest expects only the qtest')

        rc, out = run('--expect', f'{build}:suite=unit', unit)
        ok(rc != 0 and 'test-lint: registered but has no result' in out,
           'suite=unit expects every unit test')

        rc, out = run('--expect', f'{build}:suite=unit,no-suite=lint', unit)
        ok(rc == 0, 'no-suite=lint leaves the lint test out')

        rc, out = run('--expect', f'{build}:test-a,test-d', full)
        ok(rc != 0 and 'test-d: listed but not registered' in out,
           'a listed name that nothing registers fails')

        rc, out = run('--expect', os.path.join(top, 'nowhere'), full)
        ok(rc != 0 and 'no registered tests' in out,
           'a build directory without a test list fails')

        rc, out = run(short)
        ok(rc == 0, 'without --expect a log is counted as it is')

        rc, out = run('--expect', build, full, os.path.join(top, 'no.json'))
        ok(rc != 0 and 'no.json: missing' in out, 'a missing log fails')

        failing = os.path.join(top, 'failing.json')
        with open(failing, 'w', encoding='utf-8') as f:
            f.write(json.dumps({'name': 'vmwire:unit / test-a',
                                'result': 'FAIL', 'stdout':
                                '1..2\nok 1 /x/one\nnot ok 2 /x/two\n'})
                    + '\n')
        rc, out = run(failing)
        lines = out.splitlines()
        ok(rc != 0 and lines[-1] == '1 passed, 1 failed'
           and lines[-2] == 'count-tests: FAIL failing.json: test-a: '
           'not ok 2 /x/two',
           'a failing TAP line is named just before the last line')
        with open(failing, 'w', encoding='utf-8') as f:
            f.write(json.dumps({'name': 'vmwire:unit / test-b',
                                'result': 'TIMEOUT', 'stdout': '1..2\n'})
                    + '\n')
        rc, out = run(failing)
        ok(rc != 0 and 'count-tests: FAIL failing.json: test-b: TIMEOUT'
           in out.splitlines()[-2],
           'a program that failed without a TAP line is named too')
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
