"""Helpers shared by the QAPI generator modules: C names, conditions, output.

Naming follows QEMU 7.2's scripts/qapi/common.py so that people who know
QEMU's generated code find the same names here.
"""

import re
from typing import Any, List, Optional, Sequence, TYPE_CHECKING

if TYPE_CHECKING:
    from .schema import Member

C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local asm typeof
    bool true false class delete new private protected public template this
    unix errno mips sparc i386 linux
""".split())


class QAPIError(Exception):
    """An error in the schema, reported as 'file:line: message'."""

    def __init__(self, info: Optional['SourceInfo'], msg: str) -> None:
        super().__init__(msg)
        self.info = info
        self.msg = msg

    def __str__(self) -> str:
        if self.info is None:
            return self.msg
        return '%s: %s' % (self.info, self.msg)


class SourceInfo:
    """Where something was defined: file, line and what includes it."""

    def __init__(self, fname: str, line: int,
                 parent: Optional['SourceInfo'] = None) -> None:
        self.fname = fname
        self.line = line
        self.parent = parent
        self.defn_meta: Optional[str] = None
        self.defn_name: Optional[str] = None

    def __str__(self) -> str:
        return '%s:%d' % (self.fname, self.line)

    def include_path(self) -> List[str]:
        """'In file included from a.json:3:' lines, outermost last."""
        lines = []
        parent = self.parent
        while parent:
            lines.append('In file included from %s:' % parent)
            parent = parent.parent
        return lines


def c_name(name: str, protect: bool = True) -> str:
    """A schema name as a C identifier: '-' and '.' become '_';
    a C keyword (or 'unix') gets a 'q_' prefix when @protect."""
    name = re.sub(r'[^A-Za-z0-9_]', '_', name)
    if protect and (name in C_KEYWORDS or name[:1].isdigit()):
        return 'q_' + name
    return name


def member_params(members: Sequence['Member'],
                  const: bool = False) -> List[str]:
    """C parameters for the members of an unboxed argument type: "bool
    has_NAME" before each optional one, then "TYPE NAME" (const pointers
    with const=True, as events take them)."""
    params = []
    for m in members:
        if m.optional:
            params.append('bool has_%s' % c_name(m.name))
        ctype = (m.type.c_const_param_type() if const
                 else m.type.c_param_type())
        sep = '' if ctype.endswith('*') else ' '
        params.append('%s%s%s' % (ctype, sep, c_name(m.name)))
    return params


def camel_to_upper(value: str) -> str:
    """'NetClientDriver' -> 'NET_CLIENT_DRIVER', 'QMPCapability' ->
    'QMP_CAPABILITY' (QEMU 7.2's rule)."""
    c_fun_str = c_name(value, False)
    if value.isupper():
        return c_fun_str
    new_name = ''
    length = len(c_fun_str)
    for i in range(length):
        char = c_fun_str[i]
        if char.isupper() and i > 0 and c_fun_str[i - 1] != '_':
            if i < length - 1 and c_fun_str[i + 1].islower():
                new_name += '_'
            elif c_fun_str[i - 1].isdigit():
                new_name += '_'
        new_name += char
    return new_name.lstrip('_').upper()


def c_enum_const(type_name: str, const_name: str,
                 prefix: Optional[str] = None) -> str:
    """The C constant of enum value @const_name of @type_name."""
    if prefix is not None:
        return prefix + c_name(const_name, False).upper()
    return camel_to_upper(type_name) + '_' + c_name(const_name, False).upper()


class IfCond:
    """An 'if' condition: None (always), 'CONFIG_X', or {'all'|'any'|'not'}."""

    def __init__(self, expr: Any = None) -> None:
        self.expr = expr

    def is_present(self) -> bool:
        return self.expr is not None

    def cgen(self) -> str:
        return _cgen(self.expr)

    def docgen(self) -> str:
        return str(self.expr)


def _cgen(expr: Any) -> str:
    if isinstance(expr, str):
        return 'defined(%s)' % expr
    if 'not' in expr:
        return '!' + _cgen_paren(expr['not'])
    if 'all' in expr:
        return ' && '.join(_cgen_paren(e) for e in expr['all'])
    return ' || '.join(_cgen_paren(e) for e in expr['any'])


def _cgen_paren(expr: Any) -> str:
    text = _cgen(expr)
    if isinstance(expr, str) or 'not' in expr:
        return text
    return '(' + text + ')'


def gen_if(ifcond: Optional[IfCond], text: str) -> str:
    """@text (complete lines) wrapped in #if/#endif when @ifcond is set."""
    if not ifcond or not ifcond.is_present() or not text:
        return text
    return '#if %s\n%s#endif /* %s */\n' % (ifcond.cgen(), text,
                                            ifcond.cgen())


def indent(text: str, level: int = 1) -> str:
    """Indent every non-empty, non-preprocessor line of @text."""
    pad = '    ' * level
    out = []
    for line in text.splitlines(True):
        if line.strip() and not line.startswith('#'):
            out.append(pad + line)
        else:
            out.append(line)
    return ''.join(out)


def mcgen(text: str, **kwds: object) -> str:
    """Dedent a triple-quoted template (first line empty) and fill it."""
    lines = text.split('\n')
    if lines and lines[0] == '':
        lines = lines[1:]
    width = min((len(line) - len(line.lstrip()) for line in lines
                 if line.strip()), default=0)
    text = '\n'.join(line[width:] for line in lines)
    return text % kwds if kwds else text


def c_string(text: str) -> str:
    """@text as the body of a C string literal (no quotes)."""
    out = []
    for ch in text:
        if ch in '\\"':
            out.append('\\' + ch)
        elif ch == '\n':
            out.append('\\n')
        elif ord(ch) < 32 or ord(ch) > 126:
            out.append('\\%03o' % ord(ch))
        else:
            out.append(ch)
    return ''.join(out)
