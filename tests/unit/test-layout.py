#!/usr/bin/env python3
"""The structure docs/architecture.md promises, checked on the source tree.

* `-netdev socket` is a translator: net/socket.c is under 350 lines and
  makes no socket I/O call of its own;
* the net core (net/net.c) names no client kind and no filter kind;
* log lines go through util/log.h: no bare fprintf(stderr, ...) in the
  product code but the command line's own "Try 'vmwire --help'";
* no two places in the product code (net/, monitor/, util/, hw/,
  system/, vl.c) share a run of six identical lines (blank lines,
  comments, lone punctuation and #include lines aside);
* every file docs/architecture.md names exists.

Usage: test-layout.py SOURCE_ROOT.  Speaks TAP.
"""
import os
import re
import sys
from typing import Dict, List, Tuple

PRODUCT_DIRS = ('net', 'monitor', 'util', 'hw', 'system')
RUN = 6
IO_CALL = re.compile(r'\b(sendmsg|sendmmsg|recvmsg|recvmmsg|recv|send|read|'
                     r'write|accept4?|connect)\s*\(')
TRIVIAL = re.compile(r'^[{}()\[\];,]*$|^(return|break|continue);$|'
                     r'^(default|else):?$|^#(include|endif|else)\b')


def product_files(root: str) -> List[str]:
    files = ['vl.c']
    for top in PRODUCT_DIRS:
        for d, _, names in os.walk(os.path.join(root, top)):
            files += [os.path.relpath(os.path.join(d, n), root)
                      for n in sorted(names) if n.endswith(('.c', '.h'))]
    return sorted(files)


def code_lines(text: str) -> List[Tuple[int, str]]:
    """(line number, normalized text) of the lines that carry code."""
    out = []
    in_comment = False
    for no, raw in enumerate(text.splitlines(), 1):
        line = ' '.join(raw.split())
        if in_comment:
            in_comment = '*/' not in line
            continue
        if line.startswith('/*'):
            in_comment = '*/' not in line
            continue
        if not line or line.startswith('//') or TRIVIAL.match(line):
            continue
        out.append((no, line))
    return out


def shared_runs(root: str, files: List[str]) -> List[str]:
    seen: Dict[Tuple[str, ...], Tuple[str, int]] = {}
    found = []
    for f in files:
        with open(os.path.join(root, f), encoding='utf-8') as fh:
            lines = code_lines(fh.read())
        last_end: Dict[Tuple[str, ...], int] = {}
        for i in range(len(lines) - RUN + 1):
            key = tuple(text for _, text in lines[i:i + RUN])
            where = (f, lines[i][0])
            first = seen.setdefault(key, where)
            if first == where:
                continue
            if first[0] == f and lines[i][0] <= last_end.get(key, 0):
                continue            # overlapping copy of itself
            last_end[key] = lines[i + RUN - 1][0]
            found.append('%s:%d ~ %s:%d' % (first + where))
    return found


def main() -> int:
    root = sys.argv[1]
    files = product_files(root)
    results: List[Tuple[bool, str, List[str]]] = []

    with open(os.path.join(root, 'net/socket.c'), encoding='utf-8') as fh:
        socket_c = fh.read()
    n = socket_c.count('\n')
    results.append((n < 350, 'net/socket.c is a translator: %d lines, '
                    'under 350' % n, []))
    calls = [m.group(0) for _, line in code_lines(socket_c)
             for m in IO_CALL.finditer(line)]
    results.append((not calls, 'net/socket.c makes no socket I/O call of '
                    'its own', calls))

    with open(os.path.join(root, 'net/net.c'), encoding='utf-8') as fh:
        core = '\n'.join(line for _, line in code_lines(fh.read()))
    named = sorted(set(re.findall(r'NET_CLIENT_DRIVER_\w+|net/(?:dump|hub|'
                                  r'slirp|socket|stream|dgram)[\w-]*\.h|'
                                  r'\bnet_(?:dump|hub|slirp)_\w+', core)))
    results.append((not named, 'the net core names no client kind and no '
                    'filter kind (outside comments)', named))

    bare = []
    for f in files:
        with open(os.path.join(root, f), encoding='utf-8') as fh:
            for no, line in enumerate(fh, 1):
                if 'fprintf(stderr' in line and 'vmwire --help' not in line:
                    bare.append('%s:%d' % (f, no))
    results.append((not bare, 'every log line goes through util/log.h (no '
                    'bare fprintf(stderr, ...))', bare))

    runs = shared_runs(root, files)
    results.append((not runs, 'no two places in the product code share a '
                    'run of %d identical lines' % RUN, runs))

    with open(os.path.join(root, 'docs/architecture.md'),
              encoding='utf-8') as fh:
        doc = fh.read()
    named_files = set(re.findall(r'`([\w./-]+\.(?:c|h|py|sh|json|md))`', doc))
    missing = sorted(p for p in named_files
                     if not re.search('NAME|MODULE', p) and not any(os.path.exists(os.path.join(root, q))
                                for q in (p, 'include/' + p)))
    results.append((not missing and len(named_files) > 20,
                    'every file docs/architecture.md names exists (%d '
                    'names)' % len(named_files), missing))

    print('1..%d' % len(results))
    for i, (ok, name, diag) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
        for d in diag[:20]:
            print('# ' + d)
    return 0


if __name__ == '__main__':
    sys.exit(main())
