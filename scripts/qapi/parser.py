"""Reading QAPI schema files: QEMU's JSON dialect, includes, doc comments.

The dialect: top-level expressions are JSON objects; strings are in single
quotes (the only escape is '\\\\'); true and false; '#' starts a comment to
the end of the line, and a '##' line opens a documentation comment that
runs to the next '##' line.  Every definition is preceded by a
documentation comment whose first line names it ('# @Name:').

QAPISchemaParser(fname).exprs is the list of expressions of @fname and the
files it includes (each file once), in order, as dicts
{'expr': dict, 'info': SourceInfo, 'doc': QAPIDoc or None}.
"""

import os
import re
from typing import Any, Dict, List, Optional, Set, Tuple

from .common import QAPIError, SourceInfo


# A parsed value: str, bool, list or dict of them.
JSONValue = Any
# An expression as the schema reads it: {'expr': dict, 'info': SourceInfo,
# 'doc': QAPIDoc or None}.
ParsedExpr = Dict[str, Any]


class QAPIParseError(QAPIError):
    def __init__(self, parser: 'QAPISchemaParser', msg: str) -> None:
        col = 1
        for ch in parser.src[parser.line_pos:parser.pos]:
            col = ((col + 7) % 8 + 1) if ch == '\t' else col + 1
        info = SourceInfo(parser.info.fname, parser.line, parser.info.parent)
        super().__init__(info, msg)
        self.col = col

    def __str__(self) -> str:
        assert self.info is not None
        return '%s:%d:%d: %s' % (self.info.fname, self.info.line, self.col,
                                 self.msg)


class QAPIDoc:
    """One '## ... ##' block: a definition's (symbol set) or free-form."""

    SECTION_RE = re.compile(r'^(Returns|Since|Notes?|Examples?|TODO|Errors)'
                            r':')

    def __init__(self, info: SourceInfo) -> None:
        self.info = info
        self.symbol: Optional[str] = None
        # member name -> (line number, text)
        self.args: Dict[str, Tuple[int, str]] = {}
        # feature name -> (line number, text)
        self.features: Dict[str, Tuple[int, str]] = {}
        self.body: List[str] = []
        self._section = 'body'

    def append_line(self, line: str, lineno: int, first: bool) -> None:
        if first and line.startswith('@'):
            if not line.endswith(':'):
                raise QAPIError(SourceInfo(self.info.fname, lineno,
                                           self.info.parent),
                                "line should end with ':'")
            self.symbol = line[1:-1]
            if not self.symbol:
                raise QAPIError(SourceInfo(self.info.fname, lineno,
                                           self.info.parent),
                                'name required after \'@\'')
            self._section = 'body'
            return
        if first:
            self._section = 'body'
        if line == 'Features:':
            self._section = 'features'
            return
        if self.SECTION_RE.match(line):
            self._section = 'section'
            self.body.append(line)
            return
        match = re.match(r'^@([^:\s]+):(.*)$', line)
        if match and self._section in ('body', 'args', 'features'):
            target = self.features if self._section == 'features' \
                else self.args
            if self._section == 'body':
                self._section = 'args'
            name = match.group(1)
            if name in target:
                raise QAPIError(SourceInfo(self.info.fname, lineno,
                                           self.info.parent),
                                "'%s' parameter name duplicated" % name)
            target[name] = (lineno, match.group(2).strip())
            return
        self.body.append(line)


class QAPISchemaParser:

    def __init__(self, fname: str,
                 previously_included: Optional[Set[str]] = None,
                 incl_info: Optional[SourceInfo] = None) -> None:
        self._fname = fname
        self._included: Set[str] = previously_included \
            if previously_included is not None else set()
        self._included.add(os.path.abspath(fname))
        self.src = ''
        self.info = SourceInfo(fname, 1, incl_info)
        self.exprs: List[ParsedExpr] = []
        self.docs: List[QAPIDoc] = []
        self.pragma: Dict[str, Any] = {}
        self.files = [fname]    # every file read, for a depfile
        try:
            with open(fname, 'r', encoding='utf-8') as fp:
                self.src = fp.read()
        except OSError as e:
            raise QAPIError(incl_info, "can't read %s file '%s': %s"
                            % ('include' if incl_info else 'schema', fname,
                               e.strerror))
        if self.src == '' or self.src[-1] != '\n':
            self.src += '\n'
        self.cursor = 0
        self.line = 1
        self.line_pos = 0
        self.pos = 0
        self.tok: Optional[str] = None
        self.val: JSONValue = None
        self._parse()

    # ---- the tokenizer ---------------------------------------------------

    def accept(self, skip_comment: bool = True) -> None:
        while True:
            self.tok = self.src[self.cursor]
            self.pos = self.cursor
            self.cursor += 1
            self.val = None

            if self.tok == '#':
                if self.src[self.cursor] == '#':
                    skip_comment = False        # a doc comment line
                self.cursor = self.src.find('\n', self.cursor)
                if not skip_comment:
                    self.val = self.src[self.pos:self.cursor]
                    return
            elif self.tok in '{}:,[]':
                return
            elif self.tok == "'":
                self._accept_string()
                return
            elif self.src.startswith('true', self.pos):
                self.val = True
                self.cursor += 3
                return
            elif self.src.startswith('false', self.pos):
                self.val = False
                self.cursor += 4
                return
            elif self.tok == '\n':
                if self.cursor == len(self.src):
                    self.tok = None
                    return
                self.line += 1
                self.line_pos = self.cursor
            elif self.tok == '"':
                raise QAPIParseError(self, "stray '\"': strings take single "
                                     "quotes")
            elif not self.tok.isspace():
                match = re.match('[^[\\]{}:,\\s\'"]+',
                                 self.src[self.cursor - 1:])
                raise QAPIParseError(self, "stray '%s'" % match.group(0)
                                     if match else "stray '%s'" % self.tok)

    def _accept_string(self) -> None:
        string = ''
        esc = False
        while True:
            ch = self.src[self.cursor]
            self.cursor += 1
            if ch == '\n':
                raise QAPIParseError(self, "missing terminating \"'\"")
            if esc:
                if ch != '\\':
                    raise QAPIParseError(self, 'unknown escape \\%s' % ch)
                esc = False
            elif ch == '\\':
                esc = True
                continue
            elif ch == "'":
                self.val = string
                return
            if ord(ch) < 32 or ord(ch) >= 127:
                raise QAPIParseError(self, 'funny character in string')
            string += ch

    def _get_members(self) -> Dict[str, JSONValue]:
        expr: Dict[str, JSONValue] = {}
        if self.tok == '}':
            self.accept()
            return expr
        if self.tok != "'":
            raise QAPIParseError(self, 'expected string or "}"')
        while True:
            key = self.val
            self.accept()
            if self.tok != ':':
                raise QAPIParseError(self, 'expected ":"')
            self.accept()
            if key in expr:
                raise QAPIParseError(self, "duplicate key '%s'" % key)
            expr[key] = self._get_expr()
            if self.tok == '}':
                self.accept()
                return expr
            if self.tok != ',':
                raise QAPIParseError(self, 'expected "," or "}"')
            self.accept()
            if self.tok != "'":
                raise QAPIParseError(self, 'expected string')

    def _get_values(self) -> List[JSONValue]:
        expr: List[JSONValue] = []
        if self.tok == ']':
            self.accept()
            return expr
        if self.tok not in tuple("{['") and self.val not in (True, False):
            raise QAPIParseError(self, 'expected value or "]"')
        while True:
            expr.append(self._get_expr())
            if self.tok == ']':
                self.accept()
                return expr
            if self.tok != ',':
                raise QAPIParseError(self, 'expected "," or "]"')
            self.accept()

    def _get_expr(self) -> JSONValue:
        if self.tok == '{':
            self.accept()
            return self._get_members()
        if self.tok == '[':
            self.accept()
            return self._get_values()
        if self.tok == "'" or self.val in (True, False):
            val = self.val
            self.accept()
            return val
        raise QAPIParseError(self, 'expected value')

    # ---- documentation comments --------------------------------------------

    def _get_doc(self, info: SourceInfo) -> QAPIDoc:
        if self.val != '##':
            raise QAPIParseError(self,
                                 "junk after '##' at start of documentation "
                                 "comment")
        doc = QAPIDoc(info)
        first = True
        self.accept(False)
        while self.tok == '#':
            lineno = self.line
            if self.val.startswith('##'):
                if self.val != '##':
                    raise QAPIParseError(self,
                                         "junk after '##' at end of "
                                         "documentation comment")
                self.accept()
                return doc
            if len(self.val) > 1 and self.val[1] != ' ':
                raise QAPIParseError(self, "missing space after #")
            line = self.val[2:].rstrip()
            if line or not first:
                doc.append_line(line, lineno, first)
                first = False
            self.accept(False)
        raise QAPIParseError(self, "documentation comment must end with '##'")

    # ---- top level ----------------------------------------------------------

    def _parse(self) -> None:
        cur_doc: Optional[QAPIDoc] = None
        self.accept()
        while self.tok is not None:
            info = SourceInfo(self._fname, self.line, self.info.parent)
            if self.tok == '#':
                if cur_doc and cur_doc.symbol:
                    raise QAPIError(cur_doc.info,
                                    "documentation for '%s' is not followed "
                                    "by the definition" % cur_doc.symbol)
                cur_doc = self._get_doc(info)
                self.docs.append(cur_doc)
                continue
            if self.tok != '{':
                raise QAPIParseError(self, 'expected "{"')
            self.accept()
            expr = self._get_members()
            if 'include' in expr:
                self._reject_doc(cur_doc, 'include')
                self._include(expr, info)
            elif 'pragma' in expr:
                self._reject_doc(cur_doc, 'pragma')
                self._pragma(expr, info)
            else:
                self.exprs.append({'expr': expr, 'info': info,
                                   'doc': cur_doc})
            cur_doc = None
        if cur_doc and cur_doc.symbol:
            raise QAPIError(cur_doc.info,
                            "documentation for '%s' is not followed by the "
                            "definition" % cur_doc.symbol)

    def _reject_doc(self, doc: Optional[QAPIDoc], what: str) -> None:
        if doc and doc.symbol:
            raise QAPIError(doc.info, "documentation for '%s' is not "
                            "followed by the definition" % doc.symbol)

    def _include(self, expr: Dict[str, JSONValue],
                 info: SourceInfo) -> None:
        include = expr['include']
        if len(expr) != 1:
            raise QAPIError(info, 'invalid \'include\' directive')
        if not isinstance(include, str):
            raise QAPIError(info, "value of 'include' must be a string")
        incl_fname = os.path.join(os.path.dirname(self._fname), include)
        # Inclusion loop: the file is one of those including us.
        parent: Optional[SourceInfo] = info
        while parent:
            if os.path.abspath(incl_fname) == os.path.abspath(parent.fname):
                raise QAPIError(info, "inclusion loop for %s" % include)
            parent = parent.parent
        if os.path.abspath(incl_fname) in self._included:
            return
        incl = QAPISchemaParser(incl_fname, self._included, info)
        self.exprs.extend(incl.exprs)
        self.docs.extend(incl.docs)
        self.files.extend(incl.files)
        self.pragma.update(incl.pragma)

    def _pragma(self, expr: Dict[str, JSONValue],
                info: SourceInfo) -> None:
        pragma = expr['pragma']
        if len(expr) != 1 or not isinstance(pragma, dict):
            raise QAPIError(info, "value of 'pragma' must be an object")
        for name, value in pragma.items():
            if name == 'doc-required':
                if not isinstance(value, bool):
                    raise QAPIError(info, "pragma 'doc-required' must be "
                                    "boolean")
                self.pragma[name] = value
            elif name in ('command-name-exceptions',
                          'command-returns-exceptions',
                          'member-name-exceptions'):
                if not isinstance(value, list) or \
                   not all(isinstance(v, str) for v in value):
                    raise QAPIError(info, "pragma %s must be a list of "
                                    "strings" % name)
                self.pragma[name] = value
            else:
                raise QAPIError(info, "unknown pragma '%s'" % name)
