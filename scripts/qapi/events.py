"""qapi-events.{h,c}: qapi_event_send_*().

Each builds the event's data object from its arguments and hands it to
qapi_event_emit() (include/qapi/util.h, implemented by the monitor), which
takes ownership; an event without data passes NULL.
"""

from typing import List, Tuple

from .common import c_name, gen_if, indent, member_params
from .commands import wrap_params
from .gen import GenPair, out_expr
from .schema import Event, QAPISchema
from .visit import set_member


def gen_params(ev: Event) -> str:
    params: List[str] = []
    if ev.arg_type is not None:
        if ev.boxed:
            params.append('const %s *arg' % ev.arg_type.c_name())
        else:
            params += member_params(ev.arg_type.members, const=True)
    return ', '.join(params) or 'void'


def gen_event(ev: Event, emit: str) -> Tuple[str, str]:
    head = wrap_params('void qapi_event_send_' + c_name(ev.name.lower()),
                       gen_params(ev))
    if ev.arg_type is None:
        body = '%s("%s", NULL);\n' % (emit, ev.name)
    elif ev.boxed:
        body = ('%s("%s",\n    qapi_out_steal_object(qapi_output_%s(arg)));\n'
                % (emit, ev.name, ev.arg_type.c_name()))
    else:
        body = 'JsonObject *qapi_data = json_object_new();\n\n'
        for m in ev.arg_type.members:
            stmt = set_member('qapi_data', m.name,
                              out_expr(m.type, c_name(m.name)))
            if m.optional:
                stmt = 'if (has_%s) {\n%s}\n' % (c_name(m.name), indent(stmt))
            body += gen_if(m.ifcond, stmt)
        body += '%s("%s", qapi_data);\n' % (emit, ev.name)
    return head + ';\n', head + '\n{\n' + indent(body) + '}\n'


def generate(schema: QAPISchema, prefix: str, schema_name: str,
             builtins: bool) -> GenPair:
    emit = c_name(prefix, False) + 'qapi_event_emit'
    gen = GenPair(prefix, 'qapi-events', 'QMP events: qapi_event_send_*()',
                  schema_name)
    gen.h += '#include "%sqapi-types.h"\n\n' % prefix
    gen.c += ('#include "%s.h"\n\n#include "%sqapi-visit.h"\n\n'
              % (gen.basename, prefix))
    if prefix:
        gen.h += ('/* Where this schema\'s events go (takes ownership of '
                  '@data). */\n'
                  'void %s(const char *name, JsonObject *data);\n\n' % emit)
    for ev in schema.events():
        decl, code = gen_event(ev, emit)
        gen.h += gen_if(ev.ifcond, decl) + '\n'
        gen.c += gen_if(ev.ifcond, code) + '\n'
    return gen
