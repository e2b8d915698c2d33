#!/usr/bin/env python3
"""Generate vmwire's C from a QAPI schema (see docs/qapi.md).

    scripts/qapi-gen.py [-o DIR] [-p PREFIX] [--no-builtins] [--depfile F]
                        SCHEMA

writes PREFIXqapi-{types,visit,commands,events,introspect}.{h,c} into DIR.
With -p, the global symbols that are not named after a type get the prefix
too (PREFIX_qmp_commands, PREFIX_qapi_introspect_json, events call
PREFIX_qapi_event_emit), so a second schema (the tests') links next to the
main one.  --no-builtins leaves out the lists of built-in types (strList,
...) and uses the main schema's instead.

A schema error prints 'file:line: message' (after 'In file included from'
lines) on stderr and exits 1; nothing is written then.
"""

import argparse
import os
import sys
from typing import List

sys.dont_write_bytecode = True     # run from the build: keep the tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qapi import commands, events, introspect, types, visit  # noqa: E402
from qapi.common import QAPIError  # noqa: E402
from qapi.schema import QAPISchema  # noqa: E402

GENERATORS = (types, visit, commands, events, introspect)


def write_depfile(path: str, outdir: str, prefix: str,
                  schema: QAPISchema) -> None:
    """A Makefile rule: every output depends on every schema file read and
    on the generator's own sources."""
    here = os.path.dirname(os.path.abspath(__file__))
    deps = [os.path.abspath(f) for f in schema.files]
    deps += [os.path.join(here, 'qapi-gen.py')]
    pkg = os.path.join(here, 'qapi')
    deps += sorted(os.path.join(pkg, f) for f in os.listdir(pkg)
                   if f.endswith('.py'))
    target = os.path.join(outdir, prefix + 'qapi-types.h')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('%s: %s\n' % (target.replace(' ', '\\ '),
                              ' '.join(d.replace(' ', '\\ ') for d in deps)))


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        description='Generate C code from a QAPI schema.')
    parser.add_argument('-o', '--output-dir', default='.',
                        help='where to write the files')
    parser.add_argument('-p', '--prefix', default='',
                        help='prefix of file names and global symbols')
    parser.add_argument('--no-builtins', action='store_true',
                        help='do not generate the built-in list types')
    parser.add_argument('--depfile', help='write a Makefile dependency file')
    parser.add_argument('schema', help='the schema file')
    args = parser.parse_args(argv)

    try:
        schema = QAPISchema(args.schema)
    except QAPIError as err:
        for line in (err.info.include_path() if err.info else []):
            print(line, file=sys.stderr)
        print(str(err), file=sys.stderr)
        return 1

    name = os.path.basename(args.schema)
    outputs = [gen.generate(schema, args.prefix, name,
                            not args.no_builtins) for gen in GENERATORS]
    os.makedirs(args.output_dir, exist_ok=True)
    for out in outputs:
        out.write(args.output_dir)
    if args.depfile:
        write_depfile(args.depfile, args.output_dir, args.prefix, schema)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
