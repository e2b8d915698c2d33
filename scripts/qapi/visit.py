"""qapi-visit.{h,c}: qapi_input_T() from JSON or key=value, qapi_output_T().

Each type T gets a static qapi_in_T(QapiInput *, JsonNode *, T *, errp)
that the others call, so a member's error names its whole dotted path; the
public qapi_input_T() sets up a QapiInput.  Objects also get
qapi_in_members_T(), which takes T's members (and a union's branch members)
from the JSON object being visited: the unexpected-member check runs once,
after the whole object.  Output builds new JsonNodes.
"""

from typing import Callable, Dict, List, Optional, Union, cast

from .common import c_enum_const, c_name, gen_if, indent
from .gen import GenPair, in_call, out_expr
from .schema import (AlternateType, ArrayType, BuiltinType, EnumType,
                     Member, ObjectType, QAPISchema, Type, Variant)
from .types import entity_if

# What gets visitors: every user type and array type.
VisitedType = Union[EnumType, ObjectType, AlternateType, ArrayType]



def gen_variant_switch(typ: ObjectType,
                       case_stmts: Callable[[Variant], str]) -> str:
    """A switch on the tag of @typ's variants (of obj): a case per variant
    running case_stmts(variant) (complete lines); '' without variants."""
    if typ.variants is None:
        return ''
    cases = ''
    tag_type = cast(EnumType, typ.variants.tag_member.type)
    for v in typ.variants.variants:
        cases += gen_if(v.ifcond, 'case %s:\n%s'
                        % (c_enum_const(tag_type.name, v.name,
                                        tag_type.prefix),
                           indent(case_stmts(v))))
    if not cases:
        return ''
    return ('switch (obj->%s) {\n%sdefault:\n    break;\n}\n'
            % (c_name(cast(str, typ.variants.tag_name)), cases))

def _c_str(text: str) -> str:
    return '"%s"' % text


def set_member(obj: str, name: str, expr: str) -> str:
    """json_object_set_member(@obj, "@name", @expr); on one line if it
    fits in 80 columns once indented."""
    line = 'json_object_set_member(%s, "%s", %s);\n' % (obj, name, expr)
    if len(line) <= 72:
        return line
    return ('json_object_set_member(%s, "%s",\n                       %s);\n'
            % (obj, name, expr))


def gen_in_members(typ: ObjectType) -> str:
    name = typ.c_name()
    body = ''
    for m in typ.members:
        field = 'obj->' + c_name(m.name)
        visit = in_call(m.type, 'm', '&' + field)
        if m.optional:
            stmt = ('m = qapi_in_member(in, s, %s, &mark);\n'
                    'if (m) {\n'
                    '    obj->has_%s = true;\n'
                    '    ok = %s;\n'
                    '    qapi_in_pop(in, mark);\n'
                    '    if (!ok) {\n        return false;\n    }\n}\n'
                    % (_c_str(m.name), c_name(m.name), visit))
        else:
            stmt = ('m = qapi_in_member(in, s, %s, &mark);\n'
                    'if (!m) {\n'
                    '    return qapi_in_missing(in, %s, errp);\n}\n'
                    'ok = %s;\n'
                    'qapi_in_pop(in, mark);\n'
                    'if (!ok) {\n    return false;\n}\n'
                    % (_c_str(m.name), _c_str(m.name), visit))
        body += gen_if(m.ifcond, stmt)
    body += gen_variant_switch(
        typ, lambda v: 'return qapi_in_members_%s(in, s, &obj->u.%s, errp);\n'
        % (v.type.c_name(), c_name(v.name)))
    decls = ''
    if typ.members:
        decls = 'JsonNode *m;\nsize_t mark;\nbool ok;\n\n'
    else:
        decls = '(void)obj;\n'
        if typ.variants is None or not body:
            decls += '(void)in;\n(void)s;\n(void)errp;\n'
    return ('static bool qapi_in_members_%s(QapiInput *in, QapiInStruct *s,\n'
            '        %s *obj, GError **errp)\n{\n%s}\n'
            % (name, name, indent(decls + body + 'return true;\n')))


def gen_in_object(typ: ObjectType) -> str:
    name = typ.c_name()
    return ('bool qapi_in_%s(QapiInput *in, JsonNode *node, %s **obj,'
            '\n        GError **errp)\n{\n'
            '    g_autoptr(%s) p = g_new0(%s, 1);\n'
            '    QapiInStruct s;\n'
            '    bool ok;\n\n'
            '    if (!qapi_in_start_struct(in, node, &s, errp)) {\n'
            '        return false;\n'
            '    }\n'
            '    ok = qapi_in_members_%s(in, &s, p, errp) &&\n'
            '         qapi_in_check_struct(in, &s, errp);\n'
            '    qapi_in_end_struct(&s);\n'
            '    if (ok) {\n'
            '        *obj = g_steal_pointer(&p);\n'
            '    }\n'
            '    return ok;\n}\n' % (name, name, name, name, name))


def gen_in_enum(typ: EnumType) -> str:
    name = typ.c_name()
    return ('bool qapi_in_%s(QapiInput *in, JsonNode *node, %s *obj,\n'
            '        GError **errp)\n{\n'
            '    int val;\n\n'
            '    if (!qapi_in_enum(in, node, &%s_lookup, &val, errp)) {\n'
            '        return false;\n'
            '    }\n'
            '    *obj = (%s)val;\n'
            '    return true;\n}\n' % (name, name, name, name))


def gen_in_list(typ: ArrayType) -> str:
    name = typ.c_name()
    visit = in_call(typ.element_type, 'items->pdata[i]', '&e->value')
    return ('bool qapi_in_%s(QapiInput *in, JsonNode *node, %s **obj,'
            '\n        GError **errp)\n{\n'
            '    g_autoptr(%s) head = NULL;\n'
            '    %s **tail = &head;\n'
            '    GPtrArray *items = qapi_in_list_items(in, node, errp);\n\n'
            '    if (!items) {\n        return false;\n    }\n'
            '    for (guint i = 0; i < items->len; i++) {\n'
            '        %s *e = g_new0(%s, 1);\n'
            '        size_t mark = qapi_in_push_index(in, i);\n'
            '        bool ok;\n\n'
            '        *tail = e;\n'
            '        tail = &e->next;\n'
            '        ok = %s;\n'
            '        qapi_in_pop(in, mark);\n'
            '        if (!ok) {\n'
            '            g_ptr_array_unref(items);\n'
            '            return false;\n'
            '        }\n'
            '    }\n'
            '    g_ptr_array_unref(items);\n'
            '    *obj = g_steal_pointer(&head);\n'
            '    return true;\n}\n'
            % (name, name, name, name, name, name, visit))


def gen_in_alternate(typ: AlternateType) -> str:
    name = typ.c_name()
    cases = ''
    mask = []
    for v in typ.variants.variants:
        qtype = v.type.alternate_qtype()
        mask.append('1u << %s' % qtype)
        cases += gen_if(v.ifcond, 'case %s:\n    ok = %s;\n    break;\n'
                        % (qtype, in_call(v.type, 'node',
                                          '&p->u.' + c_name(v.name))))
    return ('bool qapi_in_%s(QapiInput *in, JsonNode *node, %s **obj,'
            '\n        GError **errp)\n{\n'
            '    g_autoptr(%s) p = g_new0(%s, 1);\n'
            '    bool ok;\n\n'
            '    p->type = qapi_in_alternate_type(in, node, %s);\n'
            '    switch (p->type) {\n%s'
            '    default:\n'
            '        return qapi_in_alternate_error(in, "%s", errp);\n'
            '    }\n'
            '    if (ok) {\n'
            '        *obj = g_steal_pointer(&p);\n'
            '    }\n'
            '    return ok;\n}\n'
            % (name, name, name, name, ' | '.join(mask), indent(cases),
               typ.name))


def gen_out_members(typ: ObjectType) -> str:
    name = typ.c_name()
    body = ''
    for m in typ.members:
        field = 'obj->' + c_name(m.name)
        stmt = set_member('o', m.name, out_expr(m.type, field))
        if m.optional:
            stmt = 'if (obj->has_%s) {\n%s}\n' % (c_name(m.name),
                                                  indent(stmt))
        body += gen_if(m.ifcond, stmt)
    body += gen_variant_switch(
        typ, lambda v: 'qapi_out_members_%s(o, &obj->u.%s);\nbreak;\n'
        % (v.type.c_name(), c_name(v.name)))
    if not body:
        body = '(void)o;\n(void)obj;\n'
    return ('static void qapi_out_members_%s(JsonObject *o, const %s *obj)\n'
            '{\n%s}\n' % (name, name, indent(body)))


def gen_out_object(typ: ObjectType) -> str:
    name = typ.c_name()
    return ('JsonNode *qapi_output_%s(const %s *obj)\n{\n'
            '    JsonObject *o = json_object_new();\n\n'
            '    if (obj) {\n'
            '        qapi_out_members_%s(o, obj);\n'
            '    }\n'
            '    return qapi_out_take_object(o);\n}\n' % (name, name, name))


def gen_out_list(typ: ArrayType) -> str:
    name = typ.c_name()
    return ('JsonNode *qapi_output_%s(const %s *obj)\n{\n'
            '    JsonArray *a = json_array_new();\n\n'
            '    for (const %s *e = obj; e; e = e->next) {\n'
            '        json_array_add_element(a, %s);\n'
            '    }\n'
            '    return qapi_out_take_array(a);\n}\n'
            % (name, name, name, out_expr(typ.element_type, 'e->value')))


def gen_out_enum(typ: EnumType) -> str:
    name = typ.c_name()
    return ('JsonNode *qapi_output_%s(%s val)\n{\n'
            '    return qapi_out_enum(&%s_lookup, val);\n}\n'
            % (name, name, name))


def gen_out_alternate(typ: AlternateType) -> str:
    name = typ.c_name()
    cases = ''
    for v in typ.variants.variants:
        cases += gen_if(v.ifcond, 'case %s:\n    return %s;\n'
                        % (v.type.alternate_qtype(),
                           out_expr(v.type, 'obj->u.' + c_name(v.name))))
    return ('JsonNode *qapi_output_%s(const %s *obj)\n{\n'
            '    if (!obj) {\n'
            '        return json_node_new(JSON_NODE_NULL);\n'
            '    }\n'
            '    switch (obj->type) {\n%s'
            '    default:\n'
            '        break;\n'
            '    }\n'
            '    return json_node_new(JSON_NODE_NULL);\n}\n'
            % (name, name, indent(cases)))


def gen_public_input(typ: Type) -> str:
    name = typ.c_name()
    if isinstance(typ, EnumType):
        ptr, reset = '%s *obj' % name, ''
    else:
        ptr, reset = '%s **obj' % name, '    *obj = NULL;\n'
    return ('bool qapi_input_%s(JsonNode *node, bool keyval, %s,\n'
            '        GError **errp)\n{\n'
            '    QapiInput in;\n'
            '    bool ok;\n\n'
            '%s'
            '    qapi_input_init(&in, keyval);\n'
            '    ok = qapi_in_%s(&in, node, obj, errp);\n'
            '    qapi_input_destroy(&in);\n'
            '    return ok;\n}\n' % (name, ptr, reset, name))


def gen_public_decls(typ: Type) -> str:
    name = typ.c_name()
    ptr = '' if isinstance(typ, EnumType) else '*'
    internal = ('bool qapi_in_%s(QapiInput *in, JsonNode *node, %s *%sobj,\n'
                '        GError **errp);\n' % (name, name, ptr))
    return internal + _gen_public_decls(typ)


def _gen_public_decls(typ: Type) -> str:
    name = typ.c_name()
    if isinstance(typ, ObjectType):
        decls = ('extern const char *const %s_members[];\n' % name +
                 'extern const char *const %s_list_members[];\n' % name)
        if typ.variants is not None:
            tag = cast(EnumType, typ.variants.tag_member.type)
            decls += ('extern const char *const *const '
                      '%s_branch_list_members[%s];\n'
                      % (name, c_enum_const(tag.name, '_MAX', tag.prefix)))
        return decls + _gen_io_decls(typ)
    return _gen_io_decls(typ)


def gen_members_table(typ: ObjectType) -> str:
    names = ''
    for m in typ.members:
        names += gen_if(m.ifcond, '    "%s",\n' % m.name)
    return ('const char *const %s_members[] = {\n%s    NULL,\n};\n'
            % (typ.c_name(), names))


def _list_member_key(m: Member) -> Optional[str]:
    """How key=value may repeat member @m: its name if it is a list of
    scalars, 'name.member' if a list of objects with one mandatory
    scalar member (QAPI's ['String']: 'hostfwd.str'), else None."""
    if not isinstance(m.type, ArrayType):
        return None
    elt = m.type.element_type
    if isinstance(elt, (BuiltinType, EnumType)):
        return m.name
    if (isinstance(elt, ObjectType) and elt.variants is None and
            len(elt.members) == 1 and not elt.members[0].optional and
            isinstance(elt.members[0].type, (BuiltinType, EnumType))):
        return '%s.%s' % (m.name, elt.members[0].name)
    return None


def gen_list_members_table(typ: ObjectType) -> str:
    """T_list_members[]: the members key=value may repeat (a union's:
    its base's and every branch's, unless a branch has the name as
    something else)."""
    members = list(typ.members)
    if typ.variants is not None:
        for v in typ.variants.variants:
            members += cast(ObjectType, v.type).members
    keys: Dict[str, Optional[str]] = {}
    for m in members:
        key = _list_member_key(m)
        if m.name in keys and keys[m.name] != key:
            keys[m.name] = None
        else:
            keys.setdefault(m.name, key)
    names = ''
    for name, key in keys.items():
        if key:
            names += '    "%s",\n' % key
    return ('const char *const %s_list_members[] = {\n%s    NULL,\n};\n'
            % (typ.c_name(), names))


def gen_branch_list_members_table(typ: ObjectType) -> str:
    """T_branch_list_members[]: for each tag value, its branch's
    T_list_members (NULL: no branch)."""
    assert typ.variants is not None
    tag = cast(EnumType, typ.variants.tag_member.type)
    rows = ''
    for v in typ.variants.variants:
        rows += gen_if(v.ifcond, '    [%s] = %s_list_members,\n'
                       % (c_enum_const(tag.name, v.name, tag.prefix),
                          v.type.c_name()))
    return ('const char *const *const %s_branch_list_members[%s] = {\n'
            '%s};\n' % (typ.c_name(),
                         c_enum_const(tag.name, '_MAX', tag.prefix), rows))


def _gen_io_decls(typ: Type) -> str:
    name = typ.c_name()
    if isinstance(typ, EnumType):
        return ('bool qapi_input_%s(JsonNode *node, bool keyval, %s *obj,\n'
                '        GError **errp);\n'
                'JsonNode *qapi_output_%s(%s val);\n' % (name, name, name,
                                                         name))
    return ('bool qapi_input_%s(JsonNode *node, bool keyval, %s **obj,\n'
            '        GError **errp);\n'
            'JsonNode *qapi_output_%s(const %s *obj);\n'
            % (name, name, name, name))


def generate(schema: QAPISchema, prefix: str, schema_name: str,
             builtins: bool) -> GenPair:
    gen = GenPair(prefix, 'qapi-visit', 'QAPI visitors: qapi_input_T() '
                  'from JSON or key=value, qapi_output_T() to JSON',
                  schema_name)
    gen.h += '#include "%sqapi-types.h"\n' % prefix
    if not builtins:
        gen.h += '#include "qapi-visit.h"\n'
    gen.h += ('/*\n'
              ' * For each type T:\n'
              ' *   qapi_input_T(node, keyval, &obj, errp): build obj from '
              '@node (borrowed);\n'
              ' *       keyval: scalars are key=value strings, parsed by '
              'type\n'
              ' *   qapi_output_T(obj): a new node\n'
              ' *   qapi_in_T(in, node, &obj, errp): the same for generated '
              'visitors, at\n'
              ' *       the path @in is at\n'
              ' *   T_members[] (structs, unions): the member names (a '
              'union\'s: its\n'
              ' *       base\'s), NULL-terminated\n'
              ' *   T_list_members[] (structs, unions): the members a '
              'key=value string\n'
              ' *       may repeat (lists), as keyval_to_json_lists() '
              'takes them\n'
              ' *   T_branch_list_members[tag] (unions): each branch\'s '
              'list members\n'
              ' */\n\n')
    gen.c += '#include "%s.h"\n\n' % gen.basename
    types: List[VisitedType] = [t for t in schema.user_types()]
    arrays: List[VisitedType] = [
        t for t in schema.array_types()
        if builtins or not isinstance(t.element_type, BuiltinType)]

    static = ''
    for typ in types + arrays:
        name = typ.c_name()
        ptr = '' if isinstance(typ, EnumType) else '*'
        decl = ''
        if isinstance(typ, ObjectType):
            decl += ('static bool qapi_in_members_%s(QapiInput *in, '
                     'QapiInStruct *s,\n        %s *obj, GError **errp);\n'
                     'static void qapi_out_members_%s(JsonObject *o, '
                     'const %s *obj);\n' % (name, name, name, name))
        static += gen_if(entity_if(typ), decl)
    gen.c += static + '\n'

    for typ in types + arrays:
        gen.h += gen_if(entity_if(typ), gen_public_decls(typ)) + '\n'
        if isinstance(typ, EnumType):
            code = gen_in_enum(typ) + '\n' + gen_out_enum(typ)
        elif isinstance(typ, ObjectType):
            code = (gen_members_table(typ) + '\n' +
                    gen_list_members_table(typ) + '\n' +
                    (gen_branch_list_members_table(typ) + '\n'
                     if typ.variants is not None else '') +
                    gen_in_members(typ) + '\n' + gen_in_object(typ) + '\n' +
                    gen_out_members(typ) + '\n' + gen_out_object(typ))
        elif isinstance(typ, AlternateType):
            code = gen_in_alternate(typ) + '\n' + gen_out_alternate(typ)
        else:
            code = gen_in_list(typ) + '\n' + gen_out_list(typ)
        code += '\n' + gen_public_input(typ)
        gen.c += gen_if(entity_if(typ), code) + '\n'
    return gen

