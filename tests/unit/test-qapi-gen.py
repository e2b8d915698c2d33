#!/usr/bin/env python3
"""scripts/qapi-gen.py on good and bad schemas, as a schema author sees it.

Every tests/qapi-schema/NAME.json with a NAME.err next to it is a bad
schema: the generator must exit 1, print exactly NAME.err on stderr (paths
relative to tests/qapi-schema, where it runs) and write nothing.  The good
ones (the real qapi/vmwire-schema.json and tests/qapi-schema/
qapi-schema-test.json) must give the ten files, a depfile naming every
schema file read, and be left untouched by a second run.  Prints TAP.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GEN = os.environ.get('QAPI_GEN', os.path.join(REPO, 'scripts', 'qapi-gen.py'))
SCHEMA_DIR = os.path.join(REPO, 'tests', 'qapi-schema')
MODULES = ('types', 'visit', 'commands', 'events', 'introspect')


class TAP:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=''):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, desc))
        if not cond:
            self.failed += 1
            for line in str(diag).splitlines():
                print('# ' + line)
        sys.stdout.flush()

    def done(self):
        print('1..%d' % self.n)
        return 1 if self.failed else 0


def run_gen(args, cwd):
    return subprocess.run([sys.executable, GEN] + args, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def check_bad(t, name):
    with open(os.path.join(SCHEMA_DIR, name + '.err')) as f:
        expected = f.read()
    with tempfile.TemporaryDirectory() as out:
        res = run_gen(['-o', out, name + '.json'], SCHEMA_DIR)
        written = os.listdir(out)
    t.ok(res.returncode == 1 and res.stderr == expected and not written,
         '%s.json: exit 1, %s' % (name, expected.strip().split('\n')[-1]),
         diag='exit %d\ngot:      %r\nexpected: %r\nwritten: %s'
              % (res.returncode, res.stderr, expected, written))


def read_all(out, prefix):
    files = {}
    for m in MODULES:
        for ext in ('.h', '.c'):
            path = os.path.join(out, '%sqapi-%s%s' % (prefix, m, ext))
            if os.path.exists(path):
                files[path] = (os.stat(path).st_mtime_ns, open(path).read())
    return files


def check_good(t, schema, prefix, extra):
    name = os.path.relpath(schema, REPO)
    with tempfile.TemporaryDirectory() as out:
        dep = os.path.join(out, 'gen.d')
        args = ['-o', out, '--depfile', dep] + extra + [schema]
        res = run_gen(args, REPO)
        t.ok(res.returncode == 0 and res.stderr == '',
             '%s: generated without complaint' % name,
             diag='exit %d\n%s' % (res.returncode, res.stderr))
        first = read_all(out, prefix)
        t.ok(len(first) == 2 * len(MODULES),
             '%s: %d files, %sqapi-{%s}.{h,c}'
             % (name, 2 * len(MODULES), prefix, ','.join(MODULES)),
             diag='\n'.join(sorted(first)))
        with open(dep) as f:
            deps = f.read()
        schema_dir = os.path.dirname(os.path.abspath(schema))
        included = [f for f in os.listdir(schema_dir) if f.endswith('.json')]
        if 'qapi-schema-test.json' in included:
            included = ['qapi-schema-test.json']
        t.ok(all(os.path.join(schema_dir, f) in deps for f in included) and
             os.path.abspath(GEN) in deps,
             '%s: the depfile names every schema file and the generator'
             % name, diag=deps)
        res = run_gen(args, REPO)
        again = read_all(out, prefix)
        t.ok(res.returncode == 0 and again == first,
             '%s: a second run leaves every file as it was (no rebuild)'
             % name)
        types_h = first.get(os.path.join(out, prefix + 'qapi-types.h'),
                            (0, ''))[1]
        t.ok('AUTOMATICALLY GENERATED' in types_h,
             '%s: the output says it is generated' % name)


def check_usage(t):
    res = run_gen([], REPO)
    t.ok(res.returncode == 2 and 'usage' in res.stderr,
         'no schema given: usage, exit 2', diag=res.stderr)
    with tempfile.TemporaryDirectory() as out:
        res = run_gen(['-o', out, 'no-such-schema.json'], out)
    t.ok(res.returncode == 1 and res.stderr ==
         "can't read schema file 'no-such-schema.json': No such file or "
         "directory\n", 'a missing schema file: its name, exit 1',
         diag=res.stderr)


def main():
    t = TAP()
    bad = sorted(f[:-4] for f in os.listdir(SCHEMA_DIR) if f.endswith('.err'))
    t.ok(len(bad) >= 20, '%d bad schemas to try' % len(bad))
    for name in bad:
        check_bad(t, name)
    check_good(t, os.path.join(REPO, 'qapi', 'vmwire-schema.json'), '', [])
    check_good(t, os.path.join(SCHEMA_DIR, 'qapi-schema-test.json'),
               'test-', ['-p', 'test-', '--no-builtins'])
    check_usage(t)
    return t.done()


if __name__ == '__main__':
    sys.exit(main())
