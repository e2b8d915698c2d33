#!/usr/bin/env python3
"""The QAPI generator type-checks: mypy --strict on scripts/qapi and
scripts/qapi-gen.py, as one TAP result (mypy's report is the diagnosis).

Usage: test-qapi-mypy.py MYPY CACHE_DIR PATH...
"""
import subprocess
import sys


def main() -> int:
    mypy, cache, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    res = subprocess.run([mypy, '--strict', '--cache-dir', cache] + paths,
                         capture_output=True, text=True, check=False)
    print('1..1')
    ok = 'ok' if res.returncode == 0 else 'not ok'
    print(f'{ok} 1 - mypy --strict finds no issue in the QAPI generator')
    for line in (res.stdout + res.stderr).splitlines():
        print('# ' + line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
