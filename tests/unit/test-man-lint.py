#!/usr/bin/env python3
"""docs/vmwire.1 is a clean manual page that covers the command line.

`mandoc -T lint -W warning` must print nothing and exit 0 (any warning
fails; mandoc is in the Makefile's TEST_DEPS, and its absence fails the
test rather than skipping it), and every flag vl.c's cmdline_handlers[]
accepts must appear in the page, so a new option cannot go undocumented.
Environment: SRCDIR.
"""

import os
import re
import shutil
import subprocess
import sys

SRC = os.environ['SRCDIR']
PAGE = os.path.join(SRC, 'docs', 'vmwire.1')


def main():
    results = []

    def ok(cond, name, diag=''):
        results.append(cond)
        print('%s %d - %s' % ('ok' if cond else 'not ok', len(results), name))
        for line in ([] if cond else str(diag).splitlines()[-30:]):
            print('# ' + line)

    print('1..3')
    mandoc = shutil.which('mandoc')
    if mandoc is None:
        ok(False, 'mandoc -T lint -W warning docs/vmwire.1: no warning',
           diag='mandoc is not installed (Debian package mandoc: make deps)')
    else:
        lint = subprocess.run([mandoc, '-T', 'lint', '-W', 'warning', PAGE],
                              capture_output=True, text=True)
        ok(lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(),
           'mandoc -T lint -W warning docs/vmwire.1: no warning',
           diag=lint.stdout + lint.stderr)
    with open(os.path.join(SRC, 'vl.c'), encoding='utf-8') as f:
        vl = f.read()
    table = vl[vl.index('cmdline_handlers[] = {'):]
    table = table[:table.index('};')]
    flags = re.findall(r'\{ "(-[a-zA-Z]+)"', table)
    with open(PAGE, encoding='utf-8') as f:
        page = f.read()
    documented = set(re.findall(r'Fl ([a-zA-Z-]+)', page))
    missing = [fl for fl in flags if fl[1:] not in documented]
    ok(len(flags) >= 8 and not missing,
       'every command-line flag of vl.c (%d) is in the page' % len(flags),
       diag='missing: %s' % ' '.join(missing))
    sections = ['OPTIONS', 'DEFAULT NETWORK', 'SOCKET ACTIVATION',
                'ENVIRONMENT', 'FILES', 'SIGNALS', 'EXIT STATUS', 'EXAMPLES']
    absent = [s for s in sections if '\n.Sh %s\n' % s not in page]
    ok(not absent, 'sections: ' + ', '.join(sections),
       diag='absent: %s' % ', '.join(absent))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
