"""qapi-introspect.{h,c}: the query-qmp-schema answer as one JSON string.

A JSON array of SchemaInfo objects in QEMU's shape: every command and
event (in schema order), then every type they reach, named by schema name
(the integer builtins all appear as 'int', as QEMU does; a list as
'[T]'; no data or no returns as the empty object 'q_empty').  Parts with
an 'if' are wrapped in #if inside the string's initializer, commas
included, so the string is valid JSON in every configuration.
"""

import json
from collections import OrderedDict
from typing import (Any, Dict, List, Optional, Sequence, Set, Tuple,
                    cast)

from .common import IfCond, c_name, c_string
from .gen import GenPair
from .schema import (AlternateType, ArrayType, BuiltinType, EnumType,
                     Feature, Member, ObjectType, QAPISchema, Type)

# A piece of the output: ('t', JSON text) or ('pp', a preprocessor line).
Chunk = Tuple[str, str]
# An object of the output, keys in order.
Tree = Dict[str, Any]


class Cond:
    """A list element present only when @ifcond holds."""

    def __init__(self, value: Any, ifcond: Optional[IfCond]) -> None:
        self.value = value
        self.ifcond = ifcond


def _chunks(val: Any) -> List[Chunk]:
    """@val as a list of ('t', json text) and ('pp', preprocessor line)."""
    if isinstance(val, dict):
        out: List[Chunk] = [('t', '{')]
        for i, (key, value) in enumerate(val.items()):
            out.append(('t', (', ' if i else '') + json.dumps(key) + ': '))
            out += _chunks(value)
        return out + [('t', '}')]
    if isinstance(val, list):
        out = [('t', '[')]
        prev: List[IfCond] = []  # conditions of the elements so far
        unconditional = False   # an element so far is always there
        for i, elem in enumerate(val):
            cond = elem.ifcond if isinstance(elem, Cond) else None
            inner = elem.value if isinstance(elem, Cond) else elem
            body: List[Chunk] = []
            if i and unconditional:
                body.append(('t', ', '))
            elif i:
                body += [('pp', '#if ' + ' || '.join('(%s)' % c.cgen()
                                                     for c in prev)),
                         ('t', ', '), ('pp', '#endif')]
            body += _chunks(inner)
            if cond is not None and cond.is_present():
                out += [('pp', '#if ' + cond.cgen())] + body + \
                       [('pp', '#endif')]
                prev.append(cond)
            else:
                out += body
                unconditional = True
        return out + [('t', ']')]
    return [('t', json.dumps(val))]


def _c_initializer(chunks: List[Chunk]) -> str:
    """Adjacent C string literals and preprocessor lines."""
    lines: List[str] = []
    text = ''

    def flush() -> None:
        nonlocal text
        while text:
            piece, text = text[:64], text[64:]
            lines.append('    "%s"' % c_string(piece))

    for kind, value in chunks:
        if kind == 't':
            text += value
        else:
            flush()
            lines.append(value)
    flush()
    return '\n'.join(lines)


def _features(features: Sequence[Feature]) -> List[Cond]:
    return [Cond(f.name, f.ifcond) for f in features]


class Introspector:

    def __init__(self, schema: QAPISchema) -> None:
        self.schema = schema
        self.used: 'OrderedDict[str, Type]' = OrderedDict()
        self.trees: List[Cond] = []

    def use(self, typ: Optional[Type]) -> str:
        """The name of @typ in the output; queue it for output."""
        if typ is None:
            typ = self.schema.lookup_type('q_empty')
        if isinstance(typ, BuiltinType) and typ.json_type == 'int':
            typ = self.schema.lookup_type('int')
        elif isinstance(typ, ArrayType) and \
                isinstance(typ.element_type, BuiltinType) and \
                typ.element_type.json_type == 'int':
            typ = self.schema.lookup_type('intList')
        assert typ is not None
        if typ.name not in self.used:
            self.used[typ.name] = typ
        return typ.json_name()

    def tree(self, name: str, meta: str, extra: Dict[str, Any],
             ifcond: IfCond, features: Sequence[Feature] = ()) -> None:
        obj: Tree = OrderedDict([('name', name), ('meta-type', meta)])
        obj.update(extra)
        if features:
            obj['features'] = _features(features)
        self.trees.append(Cond(obj, ifcond))

    def member(self, m: Member) -> Cond:
        obj: Tree = OrderedDict([('name', m.name), ('type', self.use(m.type))])
        if m.optional:
            obj['default'] = None
        if m.features:
            obj['features'] = _features(m.features)
        return Cond(obj, m.ifcond)

    def visit_type(self, typ: Type) -> None:
        if isinstance(typ, BuiltinType):
            self.tree(typ.name, 'builtin', {'json-type': typ.json_type},
                      typ.ifcond)
        elif isinstance(typ, EnumType):
            self.tree(typ.name, 'enum', OrderedDict([
                ('members', [Cond(OrderedDict(
                    [('name', m.name)] +
                    ([('features', _features(m.features))]
                     if m.features else [])), m.ifcond)
                    for m in typ.members]),
                ('values', [Cond(m.name, m.ifcond) for m in typ.members])]),
                typ.ifcond, typ.features)
        elif isinstance(typ, ArrayType):
            self.tree(typ.json_name(), 'array',
                      {'element-type': self.use(typ.element_type)},
                      typ.element_type.ifcond)
        elif isinstance(typ, ObjectType):
            extra: Tree = OrderedDict([('members', [self.member(m)
                                                    for m in typ.members])])
            if typ.variants is not None:
                extra['tag'] = typ.variants.tag_name
                extra['variants'] = self.variants(typ)
            self.tree(typ.name, 'object', extra, typ.ifcond, typ.features)
        elif isinstance(typ, AlternateType):
            self.tree(typ.name, 'alternate', {'members': [
                Cond({'type': self.use(v.type)}, v.ifcond)
                for v in typ.variants.variants]}, typ.ifcond, typ.features)

    def variants(self, typ: ObjectType) -> List[Cond]:
        assert typ.variants is not None
        given = {v.name: v for v in typ.variants.variants}
        out = []
        tag_type = cast(EnumType, typ.variants.tag_member.type)
        for value in tag_type.members:
            v = given.get(value.name)
            vtype = v.type if v else None
            out.append(Cond(OrderedDict([('case', value.name),
                                         ('type', self.use(vtype))]),
                            v.ifcond if v else value.ifcond))
        return out

    def run(self) -> List[Cond]:
        for cmd in self.schema.commands():
            extra: Tree = OrderedDict([('arg-type', self.use(cmd.arg_type)),
                                 ('ret-type', self.use(cmd.ret_type))])
            if cmd.allow_oob:
                extra['allow-oob'] = True
            self.tree(cmd.name, 'command', extra, cmd.ifcond, cmd.features)
        for ev in self.schema.events():
            self.tree(ev.name, 'event', {'arg-type': self.use(ev.arg_type)},
                      ev.ifcond, ev.features)
        done: Set[str] = set()
        while len(done) < len(self.used):
            for name, typ in list(self.used.items()):
                if name not in done:
                    done.add(name)
                    self.visit_type(typ)
        return self.trees


def generate(schema: QAPISchema, prefix: str, schema_name: str,
             builtins: bool) -> GenPair:
    sym = c_name(prefix, False) + 'qapi_introspect_json'
    gen = GenPair(prefix, 'qapi-introspect', 'QMP introspection: the '
                  'query-qmp-schema answer', schema_name)
    gen.h += ('/* A JSON array of SchemaInfo: every command, event and type '
              'they use. */\nextern const char %s[];\n' % sym)
    trees = Introspector(schema).run()
    gen.c += ('#include "%s.h"\n\n'
              '/* C11 compilers need only take 4095-byte strings; GCC and '
              'Clang take\n * any length. */\n'
              '#pragma GCC diagnostic push\n'
              '#pragma GCC diagnostic ignored "-Woverlength-strings"\n'
              'const char %s[] =\n%s;\n'
              '#pragma GCC diagnostic pop\n'
              % (gen.basename, sym, _c_initializer(_chunks(trees))))
    return gen
