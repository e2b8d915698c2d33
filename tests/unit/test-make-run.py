#!/usr/bin/env python3
"""`make run` starts an optimized vmwire without sanitizers; `make check`
keeps its ASan+UBSan build.

What a user gets from `make run` (the Makefile, asked with `make -n`):
the binary it starts lives in build-release/, not in make check's build/.
Then the real thing: `make run` with RELEASE_BUILD pointed at a scratch
directory kept in this build tree (MAKE_RUN_BUILD; only the first run
compiles it all) and ARGS=--version builds and starts that vmwire, which
must print its version; its binary must hold no sanitizer runtime (no
__asan_init or __ubsan_handle_* symbol, no libasan/libubsan linked) and
be configured for release (optimization 3, no debug, warnings as
errors).  If `make run` went back to the sanitizer build, these fail.

Environment: SRCDIR (the source tree), MAKE_RUN_BUILD (scratch build
directory, inside the meson build directory).
"""

import json
import os
import re
import subprocess
import sys

SRC = os.environ['SRCDIR']
SCRATCH = os.environ['MAKE_RUN_BUILD']

results = []


def ok(cond, name, diag=''):
    results.append(cond)
    print('%s %d - %s' % ('ok' if cond else 'not ok', len(results), name))
    if not cond and diag:
        for line in str(diag).splitlines()[-40:]:
            print('# ' + line)
    sys.stdout.flush()


def make(*args, timeout=60):
    return subprocess.run(['make', '--no-print-directory', '-C', SRC] +
                          list(args), capture_output=True, text=True,
                          timeout=timeout)


def options(build):
    out = subprocess.run(['meson', 'introspect', '--buildoptions', build],
                         capture_output=True, text=True, check=True).stdout
    return {o['name']: o['value'] for o in json.loads(out)}


def main():
    print('1..7')
    plan = make('-n', 'run').stdout.strip().splitlines()
    ok(plan and plan[-1].split()[0] == './build-release/vmwire',
       'make -n run: the vmwire it starts is build-release/vmwire',
       diag='\n'.join(plan))
    check = make('-n', 'check').stdout
    ok('ensure-build.sh build -Db_sanitize=address,undefined' in check,
       'make -n check: the tests still use the sanitizer build in build/',
       diag=check)

    rel = os.path.relpath(SCRATCH, SRC)
    run = make('run', 'RELEASE_BUILD=' + rel, 'ARGS=--version',
               timeout=900)
    last = run.stdout.strip().splitlines()[-1:] or ['']
    ok(run.returncode == 0 and re.match(r'vmwire version \d', last[0]),
       'make run (RELEASE_BUILD=scratch, ARGS=--version) builds and starts '
       'vmwire', diag=run.stdout + run.stderr)

    binary = os.path.join(SCRATCH, 'vmwire')
    nm = subprocess.run(['nm', '-D', '--undefined-only', binary],
                        capture_output=True, text=True).stdout
    nm += subprocess.run(['nm', binary], capture_output=True,
                         text=True).stdout
    sanitizer = [ln for ln in nm.splitlines()
                 if '__asan_init' in ln or '__ubsan_handle_' in ln]
    ok(os.path.exists(binary) and not sanitizer,
       'its binary has no __asan_init or __ubsan_handle_* symbol',
       diag='\n'.join(sanitizer[:10]))
    ldd = subprocess.run(['ldd', binary], capture_output=True,
                         text=True).stdout
    ok('libasan' not in ldd and 'libubsan' not in ldd and 'libglib' in ldd,
       'it links no sanitizer runtime', diag=ldd)
    opts = options(SCRATCH)
    ok(opts.get('buildtype') == 'release' and
       opts.get('optimization') == '3' and opts.get('debug') is False and
       opts.get('b_sanitize') == 'none',
       'configured buildtype=release: -O3, no debug, no sanitizer',
       diag={k: opts.get(k) for k in ('buildtype', 'optimization', 'debug',
                                      'b_sanitize')})
    ok(opts.get('werror') is True, 'warnings are still errors there')
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
