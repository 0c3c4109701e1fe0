"""A loop region's code: the traced function's own source, specialised to the call it stands for.

A loop over time is traced as one `hdecomp::loop_region` op (frontend/loops.py); its kernel file
holds the function a person wrote (Mamba's `mamba_selective_scan`, with its `for` loop and its
comments), not 18,000 unrolled statements. Library functions carry branches for other
configurations (a CUDA package when installed, an associative scan under torch.compile) that
name helpers a standalone file cannot import. One run on meta recorded which lines ran, so:

- an `if` whose body never ran becomes its `else` (or nothing); one whose `else` never ran
  becomes its body: the branches this call takes, and only those;
- statements that never ran are dropped, then assignments and imports nothing reads;
- decorators are dropped (they dispatch to other implementations, which is not the workload).

What is left may name only torch, torch.nn, torch.nn.functional and math; anything else is
refused (`LoopSourceError`) and the caller keeps the region out of generated files.
"""

from __future__ import annotations

import builtins
import inspect
import math
import textwrap
from typing import Any, Sequence

import libcst as cst
import torch
import torch.nn.functional as F
from libcst.metadata import MetadataWrapper, PositionProvider
from torch import nn

# Global objects a specialised loop function may name, and the import that binds each.
_IMPORTABLE: list[tuple[Any, str]] = [(torch, "import torch"), (nn, "import torch.nn as nn"),
                                      (F, "import torch.nn.functional as F"), (math, "import math")]


class LoopSourceError(Exception):
    """The function's specialised source still needs something a component file cannot hold."""


class _Specialise(cst.CSTTransformer):
    """Keep the statements and branches that ran (by source line)."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, executed: set[int], offset: int) -> None:
        super().__init__()
        self.executed, self.offset = executed, offset
        self.elifs: set[int] = set()

    def _ran(self, node: cst.CSTNode) -> bool:
        """Whether the statement's first line ran (nodes of the original tree only)."""
        return self.get_metadata(PositionProvider, node).start.line + self.offset in self.executed

    def _block_ran(self, block: cst.If | cst.Else) -> bool:
        """Whether any statement of an if's or an else's own body ran."""
        return any(self._ran(s) for s in block.body.body)

    def leave_FunctionDef(self, original: cst.FunctionDef,  # noqa: N802
                          updated: cst.FunctionDef) -> cst.FunctionDef:
        return updated.with_changes(decorators=())

    def visit_If(self, node: cst.If) -> None:  # noqa: N802
        if isinstance(node.orelse, cst.If):
            self.elifs.add(id(node.orelse))

    def leave_If(self, original: cst.If, updated: cst.If) -> Any:  # noqa: N802
        if id(original) in self.elifs:
            return updated  # its chain is decided at the chain's first `if`
        # the chain's branches, original and transformed side by side: if / elif ... / else
        branches: list[tuple[Any, Any]] = []
        o_node: Any = original
        u_node: Any = updated
        while isinstance(o_node, cst.If):
            branches.append((o_node, u_node))
            o_node, u_node = o_node.orelse, getattr(u_node, "orelse", None)
        if o_node is not None:
            branches.append((o_node, u_node))
        ran = [u for o, u in branches if self._block_ran(o)]
        if len(ran) > 1:
            return updated  # the loop takes several branches: keep them all
        if not ran or not self._ran(original):
            return cst.RemoveFromParent()
        return cst.FlattenSentinel(list(ran[0].body.body))

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,  # noqa: N802
                                  updated: cst.SimpleStatementLine) -> Any:
        docstring = len(original.body) == 1 and isinstance(original.body[0], cst.Expr) and \
            isinstance(original.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
        return updated if docstring or self._ran(original) else cst.RemoveFromParent()


class _Names(cst.CSTVisitor):
    """Names read and names bound anywhere in a function."""

    def __init__(self) -> None:
        super().__init__()
        self.read: dict[str, int] = {}
        self.bound: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:  # noqa: N802
        self.read[node.value] = self.read.get(node.value, 0) + 1

    # An attribute's name (`x.shape`), a keyword (`dim=`) and an import's module path name
    # nothing in scope.
    def visit_Attribute(self, node: cst.Attribute) -> bool:  # noqa: N802
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:  # noqa: N802
        node.value.visit(self)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:  # noqa: N802
        for alias in node.names if not isinstance(node.names, cst.ImportStar) else ():
            (alias.asname.name if alias.asname else alias.name).visit(self)
        return False

    def visit_Param(self, node: cst.Param) -> None:  # noqa: N802
        self.bound.add(node.name.value)


def target_names(target: cst.BaseExpression) -> list[str]:
    """The names an assignment target binds (`a`, `a, (b, c)`); attributes and subscripts bind none."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in target_names(e.value)]
    return []


def _stores(stmt: cst.BaseSmallStatement) -> list[str] | None:
    """Names a dead-able statement binds (plain assignments and imports), else None."""
    if isinstance(stmt, cst.Assign):
        names = [n for t in stmt.targets for n in target_names(t.target)]
        ok = all(isinstance(t.target, (cst.Name, cst.Tuple, cst.List)) for t in stmt.targets)
        return names if ok and names else None
    if isinstance(stmt, (cst.Import, cst.ImportFrom)) and not isinstance(stmt.names, cst.ImportStar):
        return [(a.asname.name.value if a.asname else cst.helpers.get_full_name_for_node(a.name))
                .split(".")[0] for a in stmt.names]
    return None


class _DropDead(cst.CSTTransformer):
    def __init__(self, read: dict[str, int]) -> None:
        super().__init__()
        self.read = read
        self.changed = False

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,  # noqa: N802
                                  updated: cst.SimpleStatementLine) -> Any:
        kept = []
        for stmt in updated.body:
            names = _stores(stmt)
            # a name's own binding counts as one of its reads: dead when that is all there is
            if names is not None and all(self.read.get(n, 0) <= names.count(n) for n in names):
                self.changed = True
                continue
            kept.append(stmt)
        return updated.with_changes(body=kept) if kept else cst.RemoveFromParent()


def specialised_source(func: Any, executed: set[int]) -> tuple[str, list[str]]:
    """(the function's specialised source, the import lines it needs)."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as err:
        raise LoopSourceError(f"{func.__name__}: its source is not available ({err})") from None
    offset = func.__code__.co_firstlineno - 1
    module = MetadataWrapper(cst.parse_module(source)).visit(_Specialise(executed, offset))
    for _ in range(10):  # dead code can keep more code alive: drop until nothing changes
        names = _Names()
        module.visit(names)
        dropper = _DropDead(names.read)
        module = module.visit(dropper)
        if not dropper.changed:
            break
    names = _Names()
    module.visit(names)
    imports = _imports(func, module, names)
    return module.code.strip() + "\n", imports


def _imports(func: Any, module: cst.Module, names: _Names) -> list[str]:
    bound = set(names.bound) | _assigned(module) | set(dir(builtins)) | {func.__name__}
    lines = []
    for name in sorted(set(names.read) - bound):
        value = func.__globals__.get(name, None)
        line = next((imp for obj, imp in _IMPORTABLE if value is obj), None)
        if line is None:
            raise LoopSourceError(f"{func.__name__}() still uses `{name}` from "
                                  f"{getattr(func, '__module__', '?')} after specialisation")
        lines.append(line)
    return sorted(set(lines))


def _assigned(module: cst.Module) -> set[str]:
    class Bind(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.names: set[str] = set()

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:  # noqa: N802
            self.names.update(target_names(node.target))

        def visit_For(self, node: cst.For) -> None:  # noqa: N802
            self.names.update(target_names(node.target))

        def visit_CompFor(self, node: cst.CompFor) -> None:  # noqa: N802
            self.names.update(target_names(node.target))

    bind = Bind()
    module.visit(bind)
    return bind.names


def call_arguments(region: Any, tensors: Sequence[cst.BaseExpression],
                   literal: Any) -> tuple[list[cst.Arg], bool]:
    """The call's arguments as cst (tensor slots from `tensors`, the rest as literals), and
    whether the function returns one tensor."""
    args, kwargs = region.arguments(list(tensors))
    out = [cst.Arg(a if isinstance(a, cst.BaseExpression) else literal(a)) for a in args]
    tight = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""))
    out += [cst.Arg(v if isinstance(v, cst.BaseExpression) else literal(v), keyword=cst.Name(k),
                    equal=tight) for k, v in kwargs.items()]
    return out, region.single
