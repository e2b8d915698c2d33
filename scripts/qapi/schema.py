"""The checked schema: every definition as an entity, types resolved.

QAPISchema(fname) parses @fname (and its includes), checks each expression
(keys, names, 'if', 'features', member specs), defines one entity per
definition (plus builtins, list types and the implicit argument/base types
of inline 'data'/'base' dicts), then checks the whole: unknown types,
duplicate names, bases and discriminators, member clashes, alternates that
could not be told apart, documentation comments.  The first problem raises
QAPIError with 'file:line: what: message'.
"""

import re
from collections import OrderedDict
from typing import (Callable, Dict, Generic, List, Optional, Set, Tuple,
                    TypeVar, Union, cast, overload)

from .common import QAPIError, IfCond, SourceInfo, c_name
from .parser import JSONValue, ParsedExpr, QAPIDoc, QAPISchemaParser

# A definition's expression, keys to parsed values.
Expr = Dict[str, JSONValue]

# name: (C type, JSON type in introspection, alternate QType)
BUILTINS: 'OrderedDict[str, Tuple[str, str, Optional[str]]]' = OrderedDict([
    ('str', ('char *', 'string', 'QTYPE_QSTRING')),
    ('number', ('double', 'number', 'QTYPE_QNUM')),
    ('int', ('int64_t', 'int', 'QTYPE_QNUM')),
    ('int8', ('int8_t', 'int', 'QTYPE_QNUM')),
    ('int16', ('int16_t', 'int', 'QTYPE_QNUM')),
    ('int32', ('int32_t', 'int', 'QTYPE_QNUM')),
    ('int64', ('int64_t', 'int', 'QTYPE_QNUM')),
    ('uint8', ('uint8_t', 'int', 'QTYPE_QNUM')),
    ('uint16', ('uint16_t', 'int', 'QTYPE_QNUM')),
    ('uint32', ('uint32_t', 'int', 'QTYPE_QNUM')),
    ('uint64', ('uint64_t', 'int', 'QTYPE_QNUM')),
    ('size', ('uint64_t', 'int', 'QTYPE_QNUM')),
    ('bool', ('bool', 'boolean', 'QTYPE_QBOOL')),
    ('any', ('JsonNode *', 'value', None)),
])

META_KEYS: Dict[str, Tuple[List[str], List[str]]] = {
    'enum': (['data'], ['prefix', 'if', 'features']),
    'struct': (['data'], ['base', 'if', 'features']),
    'union': (['base', 'discriminator', 'data'], ['if', 'features']),
    'alternate': (['data'], ['if', 'features']),
    'command': ([], ['data', 'returns', 'boxed', 'if', 'features', 'gen',
                     'success-response', 'allow-oob', 'allow-preconfig',
                     'coroutine']),
    'event': ([], ['data', 'boxed', 'if', 'features']),
}

NAME_RE = re.compile(r'^(x-)?[a-zA-Z][a-zA-Z0-9_-]*$')


# ---- entities ---------------------------------------------------------------


T = TypeVar('T')


class Resolved(Generic[T]):
    """An attribute the schema check fills in (a type looked up by name,
    a union's members): stored as '_' + its name, None until set, and
    reading it before then is the generator's own bug (an assertion).
    mypy sees T, not Optional[T]."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = '_' + name

    @overload
    def __get__(self, obj: None, objtype: type) -> 'Resolved[T]': ...

    @overload
    def __get__(self, obj: object, objtype: type) -> T: ...

    def __get__(self, obj: Optional[object],
                objtype: type) -> Union['Resolved[T]', T]:
        if obj is None:
            return self
        value: Optional[T] = getattr(obj, self.slot)
        assert value is not None, self.slot[1:] + ' read before the check'
        return value

    def __set__(self, obj: object, value: T) -> None:
        setattr(obj, self.slot, value)

class Entity:
    meta: Optional[str] = None

    def __init__(self, name: str, info: Optional[SourceInfo],
                 doc: Optional[QAPIDoc], ifcond: Optional[IfCond] = None,
                 features: Optional[List['Feature']] = None) -> None:
        self.name = name
        self.info = info
        self.doc = doc
        self.ifcond = ifcond or IfCond()
        self.features = features or []

    def describe(self) -> str:
        return "%s '%s'" % (self.meta, self.name)

    def is_implicit(self) -> bool:
        return self.info is None or self.name.startswith('q_')


class Feature:
    def __init__(self, name: str, info: SourceInfo,
                 ifcond: Optional[IfCond] = None) -> None:
        self.name = name
        self.info = info
        self.ifcond = ifcond or IfCond()


class Type(Entity):
    def c_name(self) -> str:
        return c_name(self.name)

    def c_type(self) -> str:
        """The type of a member or variable holding this type."""
        return self.c_name() + ' *'

    def c_param_type(self) -> str:
        """The type of a command argument of this type."""
        return self.c_type()

    def c_const_param_type(self) -> str:
        """The type of an event argument of this type (read-only)."""
        return 'const ' + self.c_type()

    def is_scalar(self) -> bool:
        return False

    def alternate_qtype(self) -> Optional[str]:
        return None

    def json_name(self) -> str:
        """The name introspection gives the type."""
        return self.name


class BuiltinType(Type):
    meta = 'built-in'

    def __init__(self, name: str) -> None:
        super().__init__(name, None, None)
        self._c_type, self.json_type, self._qtype = BUILTINS[name]

    def c_name(self) -> str:
        return self.name

    def c_type(self) -> str:
        return self._c_type

    def c_param_type(self) -> str:
        return 'const char *' if self.name == 'str' else self._c_type

    def c_const_param_type(self) -> str:
        if self.name in ('str', 'any'):
            return 'const ' + self._c_type
        return self._c_type

    def is_scalar(self) -> bool:
        return True

    def is_pointer(self) -> bool:
        return self.name in ('str', 'any')

    def alternate_qtype(self) -> Optional[str]:
        return self._qtype

    def describe(self) -> str:
        return "built-in type '%s'" % self.name


class EnumMember:
    def __init__(self, name: str, info: SourceInfo,
                 ifcond: Optional[IfCond] = None,
                 features: Optional[List[Feature]] = None) -> None:
        self.name = name
        self.info = info
        self.ifcond = ifcond or IfCond()
        self.features = features or []


class EnumType(Type):
    meta = 'enum'

    def __init__(self, name: str, info: SourceInfo, doc: Optional[QAPIDoc],
                 ifcond: IfCond, features: List[Feature],
                 members: List[EnumMember], prefix: Optional[str]) -> None:
        super().__init__(name, info, doc, ifcond, features)
        self.members = members
        self.prefix = prefix

    def c_type(self) -> str:
        return self.c_name()

    def c_param_type(self) -> str:
        return self.c_name()

    def c_const_param_type(self) -> str:
        return self.c_name()

    def is_scalar(self) -> bool:
        return True

    def is_pointer(self) -> bool:
        return False

    def alternate_qtype(self) -> Optional[str]:
        return 'QTYPE_QSTRING'


class ArrayType(Type):
    meta = 'array'

    def __init__(self, element_name: str, info: Optional[SourceInfo]) -> None:
        super().__init__(element_name + 'List', None, None)
        self.element_name = element_name
        self._element_type: Optional[Type] = None
        self.use_info = info

    def is_resolved(self) -> bool:
        return self._element_type is not None

    # The element type, once the schema is checked.
    element_type: Resolved[Type] = Resolved()

    def c_name(self) -> str:
        return self.element_type.c_name() + 'List'

    def json_name(self) -> str:
        return '[%s]' % self.element_type.json_name()

    def alternate_qtype(self) -> Optional[str]:
        return 'QTYPE_QLIST'

    def describe(self) -> str:
        return "array of '%s'" % self.element_name


class Member:
    def __init__(self, name: str, type_name: str, optional: bool,
                 info: SourceInfo, ifcond: Optional[IfCond] = None,
                 features: Optional[List[Feature]] = None) -> None:
        self.name = name
        self.type_name = type_name
        self._type: Optional[Type] = None
        self.optional = optional
        self.info = info
        self.ifcond = ifcond or IfCond()
        self.features = features or []
        self.owner: Optional[ObjectType] = None

    # The member's type, once the schema is checked.
    type: Resolved[Type] = Resolved()

    def describe(self) -> str:
        return "member '%s'" % self.name


class Variant:
    def __init__(self, name: str, type_name: str, info: SourceInfo,
                 ifcond: Optional[IfCond] = None) -> None:
        self.name = name
        self.type_name = type_name
        self._type: Optional[Type] = None
        self.info = info
        self.ifcond = ifcond or IfCond()

    # The branch's type, once the schema is checked.
    type: Resolved[Type] = Resolved()


class Variants:
    """The branches of a union (tag_name: the discriminator) or an
    alternate (tag_name None)."""

    def __init__(self, tag_name: Optional[str],
                 variants: List[Variant]) -> None:
        self.tag_name = tag_name
        self._tag_member: Optional[Member] = None
        self.variants = variants

    # A union's discriminator member, once the schema is checked.
    tag_member: Resolved[Member] = Resolved()


class ObjectType(Type):
    meta = 'struct'

    def __init__(self, name: str, info: Optional[SourceInfo],
                 doc: Optional[QAPIDoc], ifcond: Optional[IfCond],
                 features: Optional[List[Feature]], base_name: Optional[str],
                 local_members: List[Member],
                 variants: Optional[Variants] = None) -> None:
        super().__init__(name, info, doc, ifcond, features)
        self.base_name = base_name
        self.base: Optional[ObjectType] = None
        self.local_members = local_members
        self.variants = variants
        # base members + local members, once checked
        self._members: Optional[List[Member]] = None
        self._checked = False
        self.implicit_info: Optional[SourceInfo] = None
        if variants is not None:
            self.meta = 'union'

    # Base members then local members, once the schema is checked.
    members: Resolved[List[Member]] = Resolved()

    def alternate_qtype(self) -> Optional[str]:
        return 'QTYPE_QDICT'

    def describe(self) -> str:
        if self.is_implicit():
            return 'the implicit type %s' % self.name
        return super().describe()


class AlternateType(Type):
    meta = 'alternate'

    def __init__(self, name: str, info: SourceInfo, doc: Optional[QAPIDoc],
                 ifcond: IfCond, features: List[Feature],
                 variants: Variants) -> None:
        super().__init__(name, info, doc, ifcond, features)
        self.variants = variants


class Command(Entity):
    meta = 'command'

    def __init__(self, name: str, info: SourceInfo, doc: Optional[QAPIDoc],
                 ifcond: IfCond, features: List[Feature],
                 arg_name: Optional[str], ret_name: Optional[str],
                 boxed: bool, gen: bool, success_response: bool,
                 allow_oob: bool, allow_preconfig: bool) -> None:
        super().__init__(name, info, doc, ifcond, features)
        self.arg_name = arg_name
        self.arg_type: Optional[ObjectType] = None
        self.ret_name = ret_name
        self.ret_type: Optional[Type] = None
        self.boxed = boxed
        self.gen = gen
        self.success_response = success_response
        self.allow_oob = allow_oob
        self.allow_preconfig = allow_preconfig


class Event(Entity):
    meta = 'event'

    def __init__(self, name: str, info: SourceInfo, doc: Optional[QAPIDoc],
                 ifcond: IfCond, features: List[Feature],
                 arg_name: Optional[str], boxed: bool) -> None:
        super().__init__(name, info, doc, ifcond, features)
        self.arg_name = arg_name
        self.arg_type: Optional[ObjectType] = None
        self.boxed = boxed


# ---- checking expressions ---------------------------------------------------

def _what(meta: str, name: str) -> str:
    return "%s '%s'" % (meta, name)


def check_if(expr: Expr, info: SourceInfo, what: str) -> IfCond:
    """Check an 'if' value; return its IfCond."""
    def check(cond: JSONValue) -> None:
        if isinstance(cond, str):
            if not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', cond):
                raise QAPIError(info, "%s: 'if' condition '%s' is not a "
                                "valid identifier" % (what, cond))
            return
        if not isinstance(cond, dict):
            raise QAPIError(info, "%s: 'if' condition of %s must be a "
                            "string or an object" % (what, what))
        if len(cond) != 1:
            raise QAPIError(info, "%s: 'if' condition has %d keys, must "
                            "have exactly one of 'all', 'any', 'not'"
                            % (what, len(cond)))
        key, value = next(iter(cond.items()))
        if key == 'not':
            check(value)
            return
        if key not in ('all', 'any'):
            raise QAPIError(info, "%s: 'if' condition has unknown key '%s'"
                            % (what, key))
        if not isinstance(value, list) or not value:
            raise QAPIError(info, "%s: 'if' condition '%s' of %s needs a "
                            "non-empty list" % (what, key, what))
        for c in value:
            check(c)

    cond = expr.get('if')
    if cond is None:
        return IfCond()
    check(cond)
    return IfCond(cond)


def check_name(name: JSONValue, info: SourceInfo, what: str,
               source: str = 'name') -> None:
    if not isinstance(name, str):
        raise QAPIError(info, "%s: %s must be a string" % (what, source))
    if not NAME_RE.match(name):
        raise QAPIError(info, "%s: %s '%s' is not a valid name"
                        % (what, source, name))
    if name.startswith('q_') or name.startswith('q-'):
        raise QAPIError(info, "%s: %s '%s' uses the reserved prefix 'q_'"
                        % (what, source, name))


def check_features(features: JSONValue, info: SourceInfo,
                   what: str) -> List[Feature]:
    out: List[Feature] = []
    if features is None:
        return out
    if not isinstance(features, list):
        raise QAPIError(info, "%s: 'features' must be a list" % what)
    seen: Set[str] = set()
    for f in features:
        if isinstance(f, dict):
            check_keys(f, info, "%s: feature" % what, ['name'], ['if'])
            ifcond = check_if(f, info, what)
            f = f['name']
        else:
            ifcond = IfCond()
        check_name(f, info, what, 'feature name')
        if f in seen:
            raise QAPIError(info, "%s: feature '%s' is given twice"
                            % (what, f))
        seen.add(f)
        out.append(Feature(f, info, ifcond))
    return out


def check_keys(expr: Expr, info: SourceInfo, what: str,
               required: List[str], optional: List[str]) -> None:
    missing = [k for k in required if k not in expr]
    if missing:
        raise QAPIError(info, "%s misses key%s %s"
                        % (what, 's' if len(missing) > 1 else '',
                           ', '.join("'%s'" % k for k in missing)))
    allowed = set(required) | set(optional)
    unknown = [k for k in expr if k not in allowed]
    if unknown:
        raise QAPIError(info, "%s has unknown key%s %s"
                        % (what, 's' if len(unknown) > 1 else '',
                           ', '.join("'%s'" % k for k in unknown)))


def check_type_ref(value: JSONValue, info: SourceInfo, what: str,
                   allow_array: bool = True, allow_dict: bool = False) -> None:
    """A type reference: 'Name', ['Name'] or (if allowed) an inline dict."""
    if value is None:
        return
    if isinstance(value, str):
        return
    if isinstance(value, list):
        if not allow_array:
            raise QAPIError(info, "%s cannot be an array" % what)
        if len(value) != 1 or not isinstance(value[0], str):
            raise QAPIError(info, "%s: array type must contain single type "
                            "name" % what)
        return
    if isinstance(value, dict) and allow_dict:
        return
    raise QAPIError(info, "%s should be a type name" % what)


# ---- the schema -------------------------------------------------------------

class QAPISchema:

    def __init__(self, fname: str) -> None:
        parser = QAPISchemaParser(fname)
        self.files = parser.files
        self.pragma = parser.pragma
        self.docs = parser.docs
        self._entity_dict: 'OrderedDict[str, Entity]' = OrderedDict()
        self._entity_list: List[Entity] = []
        self._arrays: 'OrderedDict[str, ArrayType]' = OrderedDict()
        for name in BUILTINS:
            self._def_entity(BuiltinType(name))
            self._array(name, None)
        self._def_entity(ObjectType('q_empty', None, None, None, None, None,
                                    []))
        for expr in parser.exprs:
            self._def_expr(expr)
        self._check()

    # ---- definitions -----------------------------------------------------

    def _def_entity(self, ent: Entity) -> None:
        other = self._entity_dict.get(ent.name)
        if other is not None:
            if other.info is None:
                raise QAPIError(ent.info, "%s: '%s' is the name of a "
                                "built-in type" % (ent.describe(), ent.name))
            raise QAPIError(ent.info, "'%s' is already defined at %s"
                            % (ent.name, other.info))
        self._entity_dict[ent.name] = ent
        self._entity_list.append(ent)

    def _def_expr(self, wrapped: ParsedExpr) -> None:
        expr, info, doc = wrapped['expr'], wrapped['info'], wrapped['doc']
        metas = [m for m in META_KEYS if m in expr]
        if not metas:
            raise QAPIError(info, 'expression is missing metatype')
        if len(metas) > 1:
            raise QAPIError(info, 'expression has more than one metatype: '
                            + ', '.join(metas))
        meta = metas[0]
        name = expr[meta]
        if not isinstance(name, str):
            raise QAPIError(info, "'%s' must be a string" % meta)
        what = _what(meta, name)
        self._check_defn_name(name, info, meta, what)
        required, optional = META_KEYS[meta]
        check_keys(expr, info, what, [meta] + required, optional)
        ifcond = check_if(expr, info, what)
        features = check_features(expr.get('features'), info, what)
        info.defn_meta, info.defn_name = meta, name
        self._check_doc_present(doc, name, info)
        define: Callable[..., None] = getattr(self, '_def_' + meta)
        define(expr, name, info, doc, ifcond, features, what)

    def _check_defn_name(self, name: str, info: SourceInfo, meta: str,
                         what: str) -> None:
        check_name(name, info, what)
        if meta == 'event':
            if not re.match(r'^[A-Z][A-Z0-9_]*$', name):
                raise QAPIError(info, "name of %s must use ALL_CAPS" % what)
        elif meta == 'command':
            if name.lower() != name:
                raise QAPIError(info, "name of %s must not use uppercase"
                                % what)
        else:
            if not re.match(r'^(x-)?[A-Z][A-Za-z0-9]*$', name):
                raise QAPIError(info, "name of %s must use CamelCase" % what)
            if name.endswith('List') or name.endswith('Kind'):
                raise QAPIError(info, "name of %s should not end in '%s'"
                                % (what, name[-4:]))

    def _check_doc_present(self, doc: Optional[QAPIDoc], name: str,
                           info: SourceInfo) -> None:
        if not self.pragma.get('doc-required', True):
            return
        if doc is None or doc.symbol is None:
            raise QAPIError(info, "documentation comment required for '%s'"
                            % name)
        if doc.symbol != name:
            raise QAPIError(info, "definition of '%s' follows documentation "
                            "for '%s'" % (name, doc.symbol))

    def _members(self, data: JSONValue, info: SourceInfo,
                 what: str) -> List[Member]:
        """An inline 'data' dict as a list of Member."""
        if not isinstance(data, dict):
            raise QAPIError(info, "%s: 'data' must be an object" % what)
        members: List[Member] = []
        for key, value in data.items():
            optional = key.startswith('*')
            mname = key[1:] if optional else key
            mwhat = "%s: member '%s'" % (what, mname)
            check_name(mname, info, what, 'member name')
            if mname.startswith('has-') or mname.startswith('has_'):
                raise QAPIError(info, "%s: 'has_' prefix is reserved" % mwhat)
            ifcond, features = IfCond(), cast(List[Feature], [])
            if isinstance(value, dict):
                check_keys(value, info, mwhat, ['type'], ['if', 'features'])
                ifcond = check_if(value, info, mwhat)
                features = check_features(value.get('features'), info, mwhat)
                value = value['type']
            check_type_ref(value, info, mwhat)
            members.append(Member(mname, self._type_ref(value, info),
                                  optional, info, ifcond, features))
        return members

    def _type_ref(self, value: JSONValue, info: SourceInfo) -> str:
        if isinstance(value, list):
            return self._array(value[0], info)
        return cast(str, value)

    def _array(self, element: str, info: Optional[SourceInfo]) -> str:
        name = element + 'List'
        if name not in self._arrays:
            self._arrays[name] = ArrayType(element, info)
        return name

    def _implicit_object(self, name: str, members: List[Member],
                         info: SourceInfo) -> Optional[str]:
        if not members:
            return None
        ent = ObjectType(name, info, None, None, None, None, members)
        ent.implicit_info = info
        self._def_entity(ent)
        return name

    def _def_enum(self, expr: Expr, name: str, info: SourceInfo,
                  doc: Optional[QAPIDoc], ifcond: IfCond,
                  features: List[Feature], what: str) -> None:
        data = expr['data']
        prefix = expr.get('prefix')
        if prefix is not None and not isinstance(prefix, str):
            raise QAPIError(info, "%s: 'prefix' must be a string" % what)
        if not isinstance(data, list):
            raise QAPIError(info, "%s: 'data' must be an array" % what)
        members: List[EnumMember] = []
        seen: Dict[str, str] = {}
        for value in data:
            mifcond, mfeatures = IfCond(), cast(List[Feature], [])
            if isinstance(value, dict):
                check_keys(value, info, "%s: value" % what, ['name'],
                           ['if', 'features'])
                mifcond = check_if(value, info, what)
                mfeatures = check_features(value.get('features'), info, what)
                value = value['name']
            if not isinstance(value, str) or \
               not re.match(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', value):
                raise QAPIError(info, "%s: value '%s' is not a valid name"
                                % (what, value))
            cname = c_name(value, False).upper()
            if cname in seen:
                raise QAPIError(info, "%s: value '%s' collides with value "
                                "'%s'" % (what, value, seen[cname]))
            seen[cname] = value
            members.append(EnumMember(value, info, mifcond, mfeatures))
        self._def_entity(EnumType(name, info, doc, ifcond, features, members,
                                  prefix))

    def _def_struct(self, expr: Expr, name: str, info: SourceInfo,
                    doc: Optional[QAPIDoc], ifcond: IfCond,
                    features: List[Feature], what: str) -> None:
        base = expr.get('base')
        if base is not None and not isinstance(base, str):
            raise QAPIError(info, "%s: 'base' must be a type name" % what)
        members = self._members(expr['data'], info, what)
        self._def_entity(ObjectType(name, info, doc, ifcond, features, base,
                                    members))

    def _def_union(self, expr: Expr, name: str, info: SourceInfo,
                   doc: Optional[QAPIDoc], ifcond: IfCond,
                   features: List[Feature], what: str) -> None:
        base = expr['base']
        tag = expr['discriminator']
        data = expr['data']
        if isinstance(base, dict):
            base = self._implicit_object('q_obj_%s-base' % name,
                                         self._members(base, info, what),
                                         info)
            if base is None:
                raise QAPIError(info, "%s: 'base' must not be empty" % what)
        elif not isinstance(base, str):
            raise QAPIError(info, "%s: 'base' must be a type name or an "
                            "object" % what)
        if not isinstance(tag, str):
            raise QAPIError(info, "%s: 'discriminator' must be a string"
                            % what)
        if not isinstance(data, dict):
            raise QAPIError(info, "%s: 'data' must be an object" % what)
        variants = []
        for key, value in data.items():
            vwhat = "%s: branch '%s'" % (what, key)
            vifcond = IfCond()
            if isinstance(value, dict):
                check_keys(value, info, vwhat, ['type'], ['if'])
                vifcond = check_if(value, info, vwhat)
                value = value['type']
            check_type_ref(value, info, vwhat, allow_array=False)
            variants.append(Variant(key, value, info, vifcond))
        self._def_entity(ObjectType(name, info, doc, ifcond, features, base,
                                    [], Variants(tag, variants)))

    def _def_alternate(self, expr: Expr, name: str, info: SourceInfo,
                       doc: Optional[QAPIDoc], ifcond: IfCond,
                       features: List[Feature], what: str) -> None:
        data = expr['data']
        if not isinstance(data, dict) or not data:
            raise QAPIError(info, "%s: 'data' must be a non-empty object"
                            % what)
        variants = []
        for key, value in data.items():
            vwhat = "%s: branch '%s'" % (what, key)
            check_name(key, info, what, 'branch name')
            vifcond = IfCond()
            if isinstance(value, dict):
                check_keys(value, info, vwhat, ['type'], ['if'])
                vifcond = check_if(value, info, vwhat)
                value = value['type']
            check_type_ref(value, info, vwhat)
            variants.append(Variant(key, self._type_ref(value, info), info,
                                    vifcond))
        self._def_entity(AlternateType(name, info, doc, ifcond, features,
                                       Variants(None, variants)))

    def _flag(self, expr: Expr, key: str, info: SourceInfo, what: str,
              value: bool) -> bool:
        """A flag that may only be given as @value: its value, or the
        opposite when absent."""
        flag = expr.get(key)
        if flag is None:
            return not value
        if flag is not value:
            raise QAPIError(info, "%s: flag '%s' may only use %s value"
                            % (what, key, 'true' if value else 'false'))
        return value

    def _arg_type(self, expr: Expr, name: str, info: SourceInfo, what: str,
                  boxed: bool) -> Optional[str]:
        data = expr.get('data')
        if boxed:
            if not isinstance(data, str):
                raise QAPIError(info, "%s: 'data' must be the name of a "
                                "type when 'boxed': true" % what)
            return data
        if data is None or isinstance(data, str):
            return data
        return self._implicit_object('q_obj_%s-arg' % name,
                                     self._members(data, info, what), info)

    def _def_command(self, expr: Expr, name: str, info: SourceInfo,
                     doc: Optional[QAPIDoc], ifcond: IfCond,
                     features: List[Feature], what: str) -> None:
        boxed = self._flag(expr, 'boxed', info, what, True)
        gen = self._flag(expr, 'gen', info, what, False)
        success = self._flag(expr, 'success-response', info, what, False)
        allow_oob = self._flag(expr, 'allow-oob', info, what, True)
        allow_pre = self._flag(expr, 'allow-preconfig', info, what, True)
        self._flag(expr, 'coroutine', info, what, True)
        returns = expr.get('returns')
        check_type_ref(returns, info, "%s: 'returns'" % what)
        arg = self._arg_type(expr, name, info, what, boxed)
        self._def_entity(Command(name, info, doc, ifcond, features, arg,
                                 self._type_ref(returns, info)
                                 if returns is not None else None,
                                 boxed, gen, success, allow_oob, allow_pre))

    def _def_event(self, expr: Expr, name: str, info: SourceInfo,
                   doc: Optional[QAPIDoc], ifcond: IfCond,
                   features: List[Feature], what: str) -> None:
        boxed = self._flag(expr, 'boxed', info, what, True)
        arg = self._arg_type(expr, name, info, what, boxed)
        self._def_entity(Event(name, info, doc, ifcond, features, arg,
                               boxed))

    # ---- whole-schema checks ------------------------------------------------

    def lookup_type(self, name: str) -> Optional[Type]:
        ent: Optional[Entity] = self._entity_dict.get(name)
        if ent is None:
            ent = self._arrays.get(name)
        if isinstance(ent, Type):
            return ent
        return None

    def _resolve(self, name: str, info: Optional[SourceInfo],
                 what: str) -> Type:
        arr = self._arrays.get(name)
        if arr is not None:
            if not arr.is_resolved():
                arr.element_type = self._resolve(arr.element_name, info,
                                                 what)
            return arr
        typ = self._entity_dict.get(name)
        if not isinstance(typ, Type):
            raise QAPIError(info, "%s uses unknown type '%s'" % (what, name))
        return typ

    def _check(self) -> None:
        for ent in list(self._entity_list):
            if isinstance(ent, ObjectType):
                self._check_object(ent)
            elif isinstance(ent, AlternateType):
                self._check_alternate(ent)
            elif isinstance(ent, Command):
                self._check_command(ent)
            elif isinstance(ent, Event):
                self._check_event(ent)
        for arr in self._arrays.values():       # lists nobody uses
            if not arr.is_resolved():
                arr.element_type = cast(Type,
                                        self._entity_dict[arr.element_name])
        for ent in self._entity_list:
            if ent.doc is not None and not ent.is_implicit():
                self._check_doc(ent)

    def _check_members(self, members: List[Member], owner: 'ObjectType',
                       owner_what: str) -> None:
        for m in members:
            m.owner = owner
            m.type = self._resolve(m.type_name, m.info,
                                   "%s: member '%s'" % (owner_what, m.name))

    def _check_object(self, ent: ObjectType) -> None:
        if ent._checked:
            return
        if ent._members is not None:
            raise QAPIError(ent.info, "object %s contains itself" % ent.name)
        ent.members = []        # marks "being checked"
        what = ent.describe()
        members: List[Member] = []
        if ent.base_name is not None:
            base = self._resolve(ent.base_name, ent.info, "%s: 'base'" % what)
            if not isinstance(base, ObjectType) or base.variants is not None:
                raise QAPIError(ent.info, "%s: 'base' requires a struct type, "
                                "%s isn't" % (what, base.describe()))
            self._check_object(base)
            ent.base = base
            members = list(base.members)
        self._check_members(ent.local_members, ent, what)
        members += ent.local_members
        seen: Dict[str, str] = {}
        owners: Dict[str, ObjectType] = {}
        for m in members:
            cname = c_name(m.name)
            if cname in seen:
                other = owners[cname]
                where = '' if other is ent else ' of %s' % other.describe()
                raise QAPIError(ent.info, "%s: member '%s' collides with "
                                "member '%s'%s" % (what, m.name, seen[cname],
                                                   where))
            seen[cname] = m.name
            assert m.owner is not None      # set by _check_members()
            owners[cname] = m.owner
        if ent.variants is not None:
            if 'u' in seen:
                raise QAPIError(ent.info, "%s: member 'u' collides with the "
                                "branches" % what)
            self._check_union(ent, members, seen, what)
        ent.members = members
        ent._checked = True

    def _check_union(self, ent: ObjectType, members: List[Member],
                     seen: Dict[str, str], what: str) -> None:
        assert ent.variants is not None
        tag = ent.variants.tag_name
        tag_member = next((m for m in members if m.name == tag), None)
        if tag_member is None:
            raise QAPIError(ent.info, "%s: discriminator '%s' is not a member "
                            "of 'base'" % (what, tag))
        if tag_member.optional:
            raise QAPIError(ent.info, "%s: discriminator member '%s' of "
                            "'base' must not be optional" % (what, tag))
        if tag_member.ifcond.is_present():
            raise QAPIError(ent.info, "%s: discriminator member '%s' of "
                            "'base' must not be conditional" % (what, tag))
        if not isinstance(tag_member.type, EnumType):
            raise QAPIError(ent.info, "%s: discriminator member '%s' of "
                            "'base' must be of enum type" % (what, tag))
        ent.variants.tag_member = tag_member
        values = [v.name for v in tag_member.type.members]
        for v in ent.variants.variants:
            vwhat = "%s: branch '%s'" % (what, v.name)
            if v.name not in values:
                raise QAPIError(ent.info, "%s is not a value of %s"
                                % (vwhat, tag_member.type.describe()))
            v.type = self._resolve(v.type_name, ent.info, vwhat)
            if not isinstance(v.type, ObjectType):
                raise QAPIError(ent.info, "%s cannot use %s"
                                % (vwhat, v.type.describe()))
            self._check_object(v.type)
            for m in v.type.members:
                if c_name(m.name) in seen:
                    raise QAPIError(ent.info, "%s: member '%s' of %s collides "
                                    "with member '%s' of the base"
                                    % (vwhat, m.name, v.type.describe(),
                                       seen[c_name(m.name)]))

    def _check_alternate(self, ent: AlternateType) -> None:
        what = ent.describe()
        types_seen: Dict[str, str] = {}
        for v in ent.variants.variants:
            vwhat = "%s: branch '%s'" % (what, v.name)
            v.type = self._resolve(v.type_name, ent.info, vwhat)
            qtype = v.type.alternate_qtype()
            if qtype is None or isinstance(v.type, AlternateType) or \
               isinstance(v.type, ArrayType):
                raise QAPIError(ent.info, "%s cannot use %s"
                                % (vwhat, v.type.describe()))
            conflicting = {qtype}
            if qtype == 'QTYPE_QSTRING':
                if isinstance(v.type, EnumType):
                    for m in v.type.members:
                        if m.name in ('on', 'off'):
                            conflicting.add('QTYPE_QBOOL')
                        if re.match(r'[-+0-9.]', m.name):
                            conflicting.add('QTYPE_QNUM')
                else:
                    conflicting.add('QTYPE_QNUM')
                    conflicting.add('QTYPE_QBOOL')
            for qt in conflicting:
                if qt in types_seen:
                    raise QAPIError(ent.info, "%s can't be distinguished "
                                    "from '%s'" % (vwhat, types_seen[qt]))
            for qt in conflicting:
                types_seen[qt] = v.name
            if isinstance(v.type, ObjectType):
                self._check_object(v.type)

    def _check_arg_type(self, ent: Union[Command, Event], boxed: bool,
                        what: str) -> None:
        if ent.arg_name is None:
            return
        typ = self._resolve(ent.arg_name, ent.info, "%s: 'data'" % what)
        if not isinstance(typ, ObjectType):
            raise QAPIError(ent.info, "%s: 'data' cannot use %s"
                            % (what, typ.describe()))
        self._check_object(typ)
        if typ.variants is not None and not boxed:
            raise QAPIError(ent.info, "%s: 'data' can use %s only with "
                            "'boxed': true" % (what, typ.describe()))
        ent.arg_type = typ

    def _check_command(self, ent: Command) -> None:
        what = ent.describe()
        self._check_arg_type(ent, ent.boxed, what)
        if ent.ret_name is not None:
            ent.ret_type = self._resolve(ent.ret_name, ent.info,
                                         "%s: 'returns'" % what)

    def _check_event(self, ent: Event) -> None:
        self._check_arg_type(ent, ent.boxed, ent.describe())

    def _check_doc(self, ent: Entity) -> None:
        doc = ent.doc
        assert doc is not None
        names: Set[str] = set()
        if isinstance(ent, EnumType):
            names = {m.name for m in ent.members}
        elif isinstance(ent, ObjectType):
            names = {m.name for m in ent.members}
            if ent.variants:
                names |= {v.name for v in ent.variants.variants}
        elif isinstance(ent, AlternateType):
            names = {v.name for v in ent.variants.variants}
        elif isinstance(ent, (Command, Event)) and ent.arg_type is not None:
            names = {m.name for m in ent.arg_type.members}
        for name, (lineno, _) in doc.args.items():
            if name not in names:
                raise QAPIError(_doc_info(doc, lineno),
                                "documented member '%s' does not exist in %s"
                                % (name, ent.describe()))
        declared = {f.name for f in ent.features}
        for name, (lineno, _) in doc.features.items():
            if name not in declared:
                raise QAPIError(_doc_info(doc, lineno),
                                "documented feature '%s' does not exist in %s"
                                % (name, ent.describe()))
        for f in ent.features:
            if f.name not in doc.features:
                raise QAPIError(ent.info, "%s: feature '%s' lacks "
                                "documentation" % (ent.describe(), f.name))

    # ---- queries ------------------------------------------------------------

    def entities(self) -> List[Entity]:
        """Every entity in definition order (builtins first), then the
        array types in order of first use."""
        arrays: List[Entity] = list(self._arrays.values())
        return self._entity_list + arrays

    def user_types(self) -> List[Union[EnumType, ObjectType, AlternateType]]:
        return [e for e in self._entity_list
                if isinstance(e, (EnumType, ObjectType, AlternateType))
                and e.name != 'q_empty']

    def builtin_types(self) -> List[BuiltinType]:
        return [e for e in self._entity_list if isinstance(e, BuiltinType)]

    def array_types(self) -> List[ArrayType]:
        return list(self._arrays.values())

    def commands(self) -> List[Command]:
        return [e for e in self._entity_list if isinstance(e, Command)]

    def events(self) -> List[Event]:
        return [e for e in self._entity_list if isinstance(e, Event)]


def _doc_info(doc: QAPIDoc, lineno: int) -> SourceInfo:
    return SourceInfo(doc.info.fname, lineno, doc.info.parent)
