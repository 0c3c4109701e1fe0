"""The template files of generated modules (codegen/templates/) and filling them through libcst.

A template is a real Python file: it parses on its own, and its placeholders are dunder names
(`__forward_body__`) standing where generated code goes. What a placeholder becomes depends on
the value it is given and where it stands:

- a list of statements, for a placeholder alone on a line; the line's leading blank lines go
  to the first statement (an empty list removes the line, blank lines and all);
- a list of parameters, for a placeholder parameter (`def forward(self, __params__)`);
- an expression (or a name) anywhere else, a docstring included (`__header__` alone on a line).

The comment block a template starts with describes it and is not part of the output. Every
placeholder of a template must be given a value and every value must fill one, so a template
and the code that fills it cannot drift apart silently.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Sequence, Union

import libcst as cst

Value = Union[cst.BaseExpression, Sequence[cst.BaseStatement], Sequence[cst.Param]]

# Python's own dunder names that templates use; every other dunder name is a placeholder.
_PYTHON_DUNDERS = frozenset({"__init__", "__name__", "__file__"})
_PLACEHOLDER = re.compile(r"__[a-z][a-z0-9_]*__")


def is_placeholder(name: str) -> bool:
    """Is `name` a template placeholder (`__forward_body__`, not `__init__`)?"""
    return _PLACEHOLDER.fullmatch(name) is not None and name not in _PYTHON_DUNDERS


def template_names() -> list[str]:
    """Every template file's name, without `.py`, sorted."""
    folder = resources.files("codegen") / "templates"
    return sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".py"))


@functools.cache
def load(name: str) -> cst.Module:
    """The parsed template codegen/templates/<name>.py (parsed once; libcst trees are immutable)."""
    text = (resources.files("codegen") / "templates" / f"{name}.py").read_text(encoding="utf-8")
    return cst.parse_module(text)


def placeholders(node: cst.CSTNode) -> set[str]:
    """The placeholder names that occur in a template or a part of one."""
    finder = _Finder()
    node.visit(finder)
    return finder.found


def fill(name: str, **values: Value) -> cst.Module:
    """Template `name` with each placeholder replaced by its value, its top comment dropped."""
    return _fill(load(name).with_changes(header=()), values, name)


def snippet(name: str, **values: Value) -> list[cst.BaseStatement]:
    """The statements of snippet `name`: the body of function `name` in templates/statements.py."""
    for stmt in load("statements").body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            body = stmt.body
            assert isinstance(body, cst.IndentedBlock)
            return list(_fill(cst.Module(body=body.body), values, f"statements.{name}").body)
    raise LookupError(f"templates/statements.py has no snippet {name!r}")


def _fill(module: cst.Module, values: dict[str, Value], where: str) -> cst.Module:
    wanted = placeholders(module)
    if wanted != set(values):
        raise LookupError(f"template {where}: placeholders {sorted(wanted)}, values given for "
                          f"{sorted(values)}")
    filled = module.visit(_Filler(values))
    left = placeholders(filled)
    if left:
        raise LookupError(f"template {where}: {sorted(left)} cannot take the kind of value given")
    return filled


class _Finder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:  # noqa: N802
        if is_placeholder(node.value):
            self.found.add(node.value)


def _placeholder_line(line: cst.SimpleStatementLine) -> str | None:
    """The placeholder a statement line consists of, if it is one alone."""
    if len(line.body) == 1 and isinstance(line.body[0], cst.Expr) and \
            isinstance(line.body[0].value, cst.Name) and is_placeholder(line.body[0].value.value):
        return line.body[0].value.value
    return None


class _Filler(cst.CSTTransformer):
    """Replace placeholders: expressions by name, statement lists by line, parameter lists."""

    def __init__(self, values: dict[str, Value]) -> None:
        self.values = values

    def _list(self, name: str | None) -> list | None:
        value = self.values.get(name or "")
        return list(value) if isinstance(value, (list, tuple)) else None

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:  # noqa: N802
        value = self.values.get(updated.value)
        return value if isinstance(value, cst.BaseExpression) else updated

    def leave_SimpleStatementLine(  # noqa: N802
            self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine,
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        statements = self._list(_placeholder_line(updated))
        if statements is None:
            return updated
        if not statements:
            return cst.RemoveFromParent()
        first = statements[0]
        statements[0] = first.with_changes(
            leading_lines=[*updated.leading_lines, *first.leading_lines])
        return cst.FlattenSentinel(statements)

    def leave_Parameters(self, original: cst.Parameters,  # noqa: N802
                         updated: cst.Parameters) -> cst.Parameters:
        if not any(self._list(p.name.value) is not None for p in updated.params):
            return updated
        params: list[cst.Param] = []
        for p in updated.params:
            expanded = self._list(p.name.value)
            # default commas: `self, x, y`, and no dangling `self, ` when the list is empty
            params += [q.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                       for q in (expanded if expanded is not None else [p])]
        return updated.with_changes(params=params)
