"""qapi-types.{h,c}: C types, enum lookup tables, qapi_free_T()."""

from typing import Dict, List, Optional, Sequence, Set, Union, cast

from .common import IfCond, c_enum_const, c_name, gen_if, indent
from .gen import GenPair, free_stmt
from .schema import (AlternateType, ArrayType, BuiltinType, EnumType,
                     Member, ObjectType, QAPISchema, Type, Variants)

# What gets a C struct: objects (structs, unions) and alternates.
StructType = Union[ObjectType, AlternateType]


def enum_max(typ: EnumType) -> str:
    return c_enum_const(typ.name, '_MAX', typ.prefix)


def gen_enum_decl(typ: EnumType) -> str:
    body = ''
    for m in typ.members:
        body += gen_if(m.ifcond, '    %s,\n'
                       % c_enum_const(typ.name, m.name, typ.prefix))
    body += '    %s,\n' % enum_max(typ)
    name = typ.c_name()
    return ('typedef enum %s {\n%s} %s;\n\n'
            '#define %s_str(val) \\\n'
            '    qapi_enum_lookup(&%s_lookup, (val))\n'
            'extern const QEnumLookup %s_lookup;\n'
            % (name, body, name, name, name, name))


def gen_enum_lookup(typ: EnumType) -> str:
    name = typ.c_name()
    values = ''
    special = ''
    for m in typ.members:
        const = c_enum_const(typ.name, m.name, typ.prefix)
        values += gen_if(m.ifcond, '        [%s] = "%s",\n' % (const, m.name))
        flags = []
        for f in m.features:
            if f.name == 'deprecated':
                flags.append('1u << QAPI_DEPRECATED')
            elif f.name == 'unstable':
                flags.append('1u << QAPI_UNSTABLE')
        if flags:
            special += gen_if(m.ifcond, '        [%s] = %s,\n'
                              % (const, ' | '.join(flags)))
    values += '        [%s] = NULL,\n' % enum_max(typ)
    text = ('const QEnumLookup %s_lookup = {\n'
            '    .array = (const char *const[]) {\n%s    },\n'
            % (name, values))
    if special:
        text += ('    .special_features = (const unsigned char[%s]) {\n'
                 '%s    },\n' % (enum_max(typ), special))
    text += '    .size = %s,\n};\n' % enum_max(typ)
    return text


def gen_member_fields(members: Sequence[Member]) -> str:
    text = ''
    for m in members:
        field = ''
        if m.optional:
            field += 'bool has_%s;\n' % c_name(m.name)
        ctype = m.type.c_type()
        sep = '' if ctype.endswith('*') else ' '
        field += '%s%s%s;\n' % (ctype, sep, c_name(m.name))
        text += gen_if(m.ifcond, field)
    return text


def gen_variant_fields(variants: Variants, by_value: bool) -> str:
    """A union's branches (structs held by value) or an alternate's."""
    fields = ''
    for v in variants.variants:
        if v.type.name == 'q_empty':
            continue
        if by_value:
            decl = '%s %s;\n' % (v.type.c_name(), c_name(v.name))
        else:
            ctype = v.type.c_type()
            sep = '' if ctype.endswith('*') else ' '
            decl = '%s%s%s;\n' % (ctype, sep, c_name(v.name))
        fields += gen_if(v.ifcond, decl)
    if not fields:
        return ''
    tag = variants.tag_name or 'type'
    return ('union { /* union tag is @%s */\n%s} u;\n'
            % (tag, indent(fields)))


def gen_object_decl(typ: ObjectType) -> str:
    body = gen_member_fields(typ.members)
    if typ.variants is not None:
        body += gen_variant_fields(typ.variants, True)
    if not body:
        body = 'char qapi_dummy_for_empty_struct;\n'
    return 'struct %s {\n%s};\n' % (typ.c_name(), indent(body))


def gen_alternate_decl(typ: AlternateType) -> str:
    body = 'QType type;\n' + gen_variant_fields(typ.variants, False)
    return 'struct %s {\n%s};\n' % (typ.c_name(), indent(body))


def gen_list_decl(typ: ArrayType) -> str:
    elem = typ.element_type
    ctype = elem.c_type()
    sep = '' if ctype.endswith('*') else ' '
    return ('struct %s {\n    %s *next;\n    %s%svalue;\n};\n'
            % (typ.c_name(), typ.c_name(), ctype, sep))


def gen_free_decl(typ: Type) -> str:
    name = typ.c_name()
    return ('void qapi_free_%s(%s *obj);\n'
            'G_DEFINE_AUTOPTR_CLEANUP_FUNC(%s, qapi_free_%s)\n'
            % (name, name, name, name))


def gen_free_members_stmts(typ: ObjectType) -> str:
    """Statements freeing what the members of *obj own."""
    text = ''
    for m in typ.members:
        stmt = free_stmt(m.type, 'obj->' + c_name(m.name))
        text += gen_if(m.ifcond, stmt)
    if typ.variants is not None:
        cases = ''
        tag_type = cast(EnumType, typ.variants.tag_member.type)
        for v in typ.variants.variants:
            if v.type.name == 'q_empty' or not has_free(v.type):
                continue
            cases += gen_if(v.ifcond,
                            'case %s:\n    qapi_free_members_%s(&obj->u.%s);'
                            '\n    break;\n'
                            % (c_enum_const(tag_type.name, v.name,
                                            tag_type.prefix),
                               v.type.c_name(), c_name(v.name)))
        if cases:
            text += ('switch (obj->%s) {\n%sdefault:\n    break;\n}\n'
                     % (c_name(cast(str, typ.variants.tag_name)), cases))
    return text


_has_free_cache: Dict[str, bool] = {}


def has_free(typ: Type, seen: Optional[Set[str]] = None) -> bool:
    """True if an object of @typ held by value owns memory."""
    if isinstance(typ, ObjectType):
        if typ.name in _has_free_cache:
            return _has_free_cache[typ.name]
        seen = seen or set()
        if typ.name in seen:
            return True
        seen.add(typ.name)
        result = any(free_stmt(m.type, 'x') for m in typ.members)
        if typ.variants is not None:
            result = result or any(has_free(v.type, seen)
                                   for v in typ.variants.variants)
        _has_free_cache[typ.name] = result
        return result
    return bool(free_stmt(typ, 'x'))


def gen_object_free(typ: ObjectType) -> str:
    name = typ.c_name()
    stmts = gen_free_members_stmts(typ)
    if not stmts:
        stmts = '(void)obj;\n'
    return ('static void qapi_free_members_%s(%s *obj)\n{\n%s}\n\n'
            'void qapi_free_%s(%s *obj)\n{\n'
            '    if (!obj) {\n        return;\n    }\n'
            '    qapi_free_members_%s(obj);\n    g_free(obj);\n}\n'
            % (name, name, indent(stmts), name, name, name))


def gen_alternate_free(typ: AlternateType) -> str:
    name = typ.c_name()
    cases = ''
    for v in typ.variants.variants:
        stmt = free_stmt(v.type, 'obj->u.' + c_name(v.name))
        if stmt:
            cases += gen_if(v.ifcond, 'case %s:\n    %s    break;\n'
                            % (v.type.alternate_qtype(), stmt))
    body = '    if (!obj) {\n        return;\n    }\n'
    if cases:
        body += indent('switch (obj->type) {\n%sdefault:\n    break;\n}\n'
                       % cases)
    body += '    g_free(obj);\n'
    return 'void qapi_free_%s(%s *obj)\n{\n%s}\n' % (name, name, body)


def gen_list_free(typ: ArrayType) -> str:
    name = typ.c_name()
    stmt = free_stmt(typ.element_type, 'obj->value')
    return ('void qapi_free_%s(%s *obj)\n{\n'
            '    while (obj) {\n'
            '        %s *next = obj->next;\n\n'
            '%s'
            '        g_free(obj);\n'
            '        obj = next;\n'
            '    }\n}\n' % (name, name, name, indent(stmt, 2)))


def ordered_objects(schema: QAPISchema,
                    types: Sequence[StructType]) -> List[StructType]:
    """Objects and alternates, each after the types it holds by value (a
    union holds its branch structs by value)."""
    done: Set[str] = set()
    order: List[StructType] = []

    def visit(typ: Type) -> None:
        if typ.name in done:
            return
        done.add(typ.name)
        if isinstance(typ, ObjectType) and typ.variants is not None:
            for v in typ.variants.variants:
                visit(v.type)
        order.append(cast(StructType, typ))

    for typ in types:
        visit(typ)
    return order


def entity_if(typ: Type) -> IfCond:
    if isinstance(typ, ArrayType):
        return typ.element_type.ifcond
    return typ.ifcond


def generate(schema: QAPISchema, prefix: str, schema_name: str,
             builtins: bool) -> GenPair:
    gen = GenPair(prefix, 'qapi-types', 'QAPI types: C structures, enum '
                  'lookup tables and qapi_free_T()', schema_name)
    gen.h += ('#include <glib.h>\n#include <json-glib/json-glib.h>\n'
              '#include <stdbool.h>\n#include <stdint.h>\n\n'
              '#include "qapi/util.h"\n')
    if not builtins:
        gen.h += '#include "qapi-types.h"\n'
    gen.h += '\n'
    gen.c += '#include "%s.h"\n\n' % gen.basename
    enums = [t for t in schema.user_types() if isinstance(t, EnumType)]
    objects: List[StructType] = [
        t for t in schema.user_types()
        if isinstance(t, (ObjectType, AlternateType))]
    arrays = [t for t in schema.array_types()
              if builtins or not isinstance(t.element_type, BuiltinType)]

    # Forward declarations of every struct type.
    fwd = ''
    structs: List[Type] = [*arrays, *objects]
    for struct in structs:
        fwd += gen_if(entity_if(struct), 'typedef struct %s %s;\n'
                      % (struct.c_name(), struct.c_name()))
    gen.h += fwd + '\n'
    for enum in enums:
        gen.h += gen_if(enum.ifcond, gen_enum_decl(enum)) + '\n'
        gen.c += gen_if(enum.ifcond, gen_enum_lookup(enum)) + '\n'

    # Forward declarations of the static member destructors.
    static = ''
    for typ in objects:
        if isinstance(typ, ObjectType):
            static += gen_if(typ.ifcond, 'static void qapi_free_members_%s'
                             '(%s *obj);\n' % (typ.c_name(), typ.c_name()))
    gen.c += static + '\n'

    for arr in arrays:
        gen.h += gen_if(entity_if(arr), gen_list_decl(arr) +
                        gen_free_decl(arr)) + '\n'
        gen.c += gen_if(entity_if(arr), gen_list_free(arr)) + '\n'
    for typ in ordered_objects(schema, objects):
        if isinstance(typ, AlternateType):
            decl, free = gen_alternate_decl(typ), gen_alternate_free(typ)
        else:
            decl, free = gen_object_decl(typ), gen_object_free(typ)
        gen.h += gen_if(typ.ifcond, decl + gen_free_decl(typ)) + '\n'
        gen.c += gen_if(typ.ifcond, free) + '\n'
    return gen

