"""qapi-commands.{h,c}: qmp_* prototypes, marshallers, the command table.

A marshaller visits its arguments (a JSON object; NULL means {}), calls
the hand-written qmp_*(), frees the arguments and turns the return value
(or {} for a command without 'returns') into *ret.  Commands with
'gen': false only get the marshaller's prototype: the table points at a
hand-written qmp_marshal_*().
"""

from typing import List

from .common import c_name, gen_if, indent, member_params
from .gen import GenPair, free_stmt, out_expr
from .schema import BuiltinType, Command, EnumType, QAPISchema, Type


def c_ret_type(typ: Type) -> str:
    return typ.c_type()


def gen_params(cmd: Command, with_errp: bool = True) -> str:
    params: List[str] = []
    if cmd.arg_type is not None:
        if cmd.boxed:
            params.append('%s *data' % cmd.arg_type.c_name())
        else:
            params += member_params(cmd.arg_type.members)
    if with_errp:
        params.append('GError **errp')
    return ', '.join(params)


def gen_args(cmd: Command) -> str:
    args: List[str] = []
    if cmd.arg_type is not None:
        if cmd.boxed:
            args.append('arg')
        else:
            for m in cmd.arg_type.members:
                if m.optional:
                    args.append('arg->has_%s' % c_name(m.name))
                args.append('arg->' + c_name(m.name))
    args.append('&err')
    return ', '.join(args)


def wrap_params(head: str, params: str) -> str:
    """'head(params)' broken after commas to stay within 80 columns."""
    text = head + '('
    col = len(text)
    line = text
    out = ''
    parts = params.split(', ')
    for i, part in enumerate(parts):
        piece = part + (', ' if i < len(parts) - 1 else ')')
        if len(line) + len(piece.rstrip()) > 79 and line.strip() != head + '(':
            out += line.rstrip() + '\n'
            line = ' ' * min(col, 40) + piece
        else:
            line += piece
    return out + line


def gen_command_decl(cmd: Command) -> str:
    ret = 'void ' if cmd.ret_type is None else c_ret_type(cmd.ret_type)
    if not ret.endswith('*'):
        ret = ret.rstrip() + ' '
    return wrap_params(ret + 'qmp_' + c_name(cmd.name), gen_params(cmd)) + \
        ';\n'


def gen_marshal_decl(cmd: Command) -> str:
    return ('void qmp_marshal_%s(JsonObject *args, JsonNode **ret,\n'
            '        GError **errp);\n' % c_name(cmd.name))


def gen_marshal(cmd: Command) -> str:
    name = c_name(cmd.name)
    decls = ''
    visit = ''
    if cmd.arg_type is not None:
        arg_c = cmd.arg_type.c_name()
        decls += ('g_autoptr(JsonNode) node = qapi_args_node(args);\n'
                  'g_autoptr(%s) arg = NULL;\n' % arg_c)
        visit = ('if (!qapi_input_%s(node, false, &arg, errp)) {\n'
                 '    return;\n}\n' % arg_c)
    else:
        visit = 'if (!qapi_in_no_args(args, errp)) {\n    return;\n}\n'
    decls += 'GError *err = NULL;\n'
    call = 'qmp_%s(%s);\n' % (name, gen_args(cmd))
    typ = cmd.ret_type
    if typ is None:
        result = 'qapi_marshal_ret(ret, qapi_out_take_object(' \
                 'json_object_new()));\n'
    else:
        ctype = c_ret_type(typ)
        if isinstance(typ, BuiltinType) and typ.name == 'str':
            decls += 'g_autofree char *retval = NULL;\n'
        elif isinstance(typ, BuiltinType) and typ.name == 'any':
            decls += 'JsonNode *retval = NULL;\n'
        elif isinstance(typ, (BuiltinType, EnumType)):
            decls += '%s retval;\n' % ctype
        else:
            decls += 'g_autoptr(%s) retval = NULL;\n' % typ.c_name()
        call = 'retval = ' + call
        result = 'qapi_marshal_ret(ret, %s);\n' % out_expr(typ, 'retval')
        if isinstance(typ, BuiltinType) and typ.name == 'any':
            result += free_stmt(typ, 'retval')
    body = (decls + '\n' + visit + call +
            'if (err) {\n    g_propagate_error(errp, err);\n')
    if isinstance(typ, BuiltinType) and typ.name == 'any':
        body += '    qapi_free_any(retval);\n'
    body += '    return;\n}\n' + result
    return ('void qmp_marshal_%s(JsonObject *args, JsonNode **ret, '
            'GError **errp)\n{\n%s}\n' % (name, indent(body)))


def generate(schema: QAPISchema, prefix: str, schema_name: str,
             builtins: bool) -> GenPair:
    sym = c_name(prefix, False)
    gen = GenPair(prefix, 'qapi-commands', "QMP commands: the qmp_*() each "
                  "command calls, marshallers, the command table",
                  schema_name)
    gen.h += ('#include "%sqapi-types.h"\n\n' % prefix)
    gen.c += ('#include "%s.h"\n\n#include <string.h>\n\n'
              '#include "%sqapi-visit.h"\n\n' % (gen.basename, prefix))
    gen.h += ('/* Runs a command: @args (NULL means {}) in, *@ret (if @ret)\n'
              ' * out, or an error. */\n'
              'typedef void QmpMarshalFunc(JsonObject *args, JsonNode **ret,\n'
              '                            GError **errp);\n\n'
              'typedef struct QmpCommand {\n'
              '    const char *name;           /* "netdev_add" */\n'
              '    QmpMarshalFunc *fn;\n'
              '} QmpCommand;\n\n')
    table = ''
    for cmd in schema.commands():
        decl = ''
        if cmd.gen:
            decl += gen_command_decl(cmd)
            gen.c += gen_if(cmd.ifcond, gen_marshal(cmd)) + '\n'
        decl += gen_marshal_decl(cmd)
        gen.h += gen_if(cmd.ifcond, decl) + '\n'
        table += gen_if(cmd.ifcond, '    { "%s", qmp_marshal_%s },\n'
                        % (cmd.name, c_name(cmd.name)))
    gen.h += ('/* Every command, in schema order, then { NULL, NULL }. */\n'
              'extern const QmpCommand %sqmp_commands[];\n'
              '/* The number of commands, the NULL entry not counted. */\n'
              'extern const size_t %sqmp_commands_count;\n'
              '/* The command called @name, or NULL. */\n'
              'const QmpCommand *%sqmp_command_find(const char *name);\n'
              % (sym, sym, sym))
    gen.c += ('const QmpCommand %sqmp_commands[] = {\n%s'
              '    { NULL, NULL },\n};\n\n'
              'const size_t %sqmp_commands_count =\n'
              '    G_N_ELEMENTS(%sqmp_commands) - 1;\n\n'
              'const QmpCommand *%sqmp_command_find(const char *name)\n{\n'
              '    for (size_t i = 0; i < %sqmp_commands_count; i++) {\n'
              '        if (strcmp(%sqmp_commands[i].name, name) == 0) {\n'
              '            return &%sqmp_commands[i];\n'
              '        }\n'
              '    }\n'
              '    return NULL;\n}\n'
              % (sym, table, sym, sym, sym, sym, sym, sym))
    return gen

