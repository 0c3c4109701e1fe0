"""What the edit commands read and rewrite in a decomposition's files.

- component headers (the specification's docstring: `Component:`, `Parent:`, `Children:`,
  `Instances:`, the shape sections), read and refreshed line by line, nothing else touched;
- a step's refactored.py, parsed with libcst (never run): the child imports
  (`from STEM import Model as ALIAS`), the child attributes of `RefactoredModel.__init__` in
  order, and forward()'s statements.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from codegen.loop_source import target_names
from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import BUFFERS_SUFFIX, Level

LEVEL_FOLDERS = {lvl.folder: lvl.label for lvl in Level}

# --- headers ----------------------------------------------------------------------------------


def _header_span(text: str) -> tuple[int, int]:
    """(start, end) of the leading docstring's text, or (0, 0) when the file has none."""
    m = re.match(r'\s*("""|\'\'\')', text)
    if not m:
        return 0, 0
    end = text.find(m.group(1), m.end())
    return (m.end(), end) if end >= 0 else (0, 0)


def header_fields(text: str) -> dict[str, str]:
    """`Key: value` lines of the header (Component, Parent, Children, Instances, ...)."""
    start, end = _header_span(text)
    out: dict[str, str] = {}
    for line in text[start:end].splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]+):\s*(.*)$", line)
        if m and m.group(2):
            out.setdefault(m.group(1), m.group(2).strip())
    return out


def header_shapes(text: str, section: str) -> tuple[dict[str, list[int]], dict[str, str]]:
    """({name: shape}, {name: dtype}) of `Input Shapes:` or `Output Shapes:`."""
    start, end = _header_span(text)
    shapes: dict[str, list[int]] = {}
    dtypes: dict[str, str] = {}
    inside = False
    for line in text[start:end].splitlines():
        if line.strip() == f"{section}:":
            inside = True
            continue
        if inside:
            m = re.match(r"^\s*-\s*([^:]+):\s*(\[[^\]]*\])\s*(?:dtype=(?:torch\.)?(\w+))?", line)
            if not m:
                break
            try:
                shapes[m.group(1).strip()] = [int(d) for d in ast.literal_eval(m.group(2))]
            except (ValueError, SyntaxError, TypeError):
                continue
            if m.group(3):
                dtypes[m.group(1).strip()] = m.group(3)
    return shapes, dtypes


def header_weights(text: str) -> list[str]:
    """Names under `Weight Shapes:` (`conv2d.weight`, `w`)."""
    start, end = _header_span(text)
    names: list[str] = []
    inside = False
    for line in text[start:end].splitlines():
        if line.strip() == "Weight Shapes:":
            inside = True
            continue
        if inside:
            m = re.match(r"^\s*-\s*([^:]+):", line)
            if not m:
                break
            names.append(m.group(1).strip())
    return names


def set_header_fields(text: str, values: dict[str, str]) -> str:
    """The file with these header lines set (only lines already present are changed)."""
    start, end = _header_span(text)
    head = text[start:end]
    for key, value in values.items():
        head = re.sub(rf"^{re.escape(key)}:[^\n]*$", lambda _m: f"{key}: {value}", head, count=1,
                      flags=re.MULTILINE)
    return text[:start] + head + text[end:]


# --- component files --------------------------------------------------------------------------


def component_files(out_dir: Path) -> dict[str, str]:
    """Component stem -> its path relative to out_dir (`level_0_kernel/relu_fp32.py`)."""
    out: dict[str, str] = {}
    for folder in LEVEL_FOLDERS:
        base = Path(out_dir) / folder
        for file in sorted(base.glob("*.py")) if base.is_dir() else []:
            out.setdefault(file.stem, f"{folder}/{file.name}")
    return out


def attr_base(name: str) -> str:
    """The attribute a parent holds a component under, from its name: the name without its
    shape, dtype and variant tokens (`linear_relu_16x32_fp32` -> `linear_relu`)."""
    tokens = name.split("_")
    while len(tokens) > 1 and re.fullmatch(r"\d+(x\d+)*|(fp|bf|int|uint|c)\d+|bool|v[0-9a-f]{6}",
                                           tokens[-1]):
        tokens.pop()
    return "_".join(tokens)


def sidecar(path: Path) -> Path:
    """A component file's buffer sidecar (`x.py` -> `x.buffers.pt`)."""
    return path.with_name(path.stem + BUFFERS_SUFFIX)


def level_of(rel: str) -> str | None:
    """The level a component file's folder stands for."""
    return LEVEL_FOLDERS.get(Path(rel).parts[0]) if len(Path(rel).parts) > 1 else None


# --- refactored.py ----------------------------------------------------------------------------


@dataclass
class Refactored:
    """The parts of a refactored.py the edits read."""

    module: cst.Module
    imports: dict[str, str] = field(default_factory=dict)       # alias -> child stem
    attrs: list[tuple[str, str]] = field(default_factory=list)  # (attribute, alias) in order
    forward: cst.FunctionDef | None = None

    def children(self) -> list[tuple[str, str]]:
        """(attribute, child stem) of each child instance, in __init__ order."""
        return [(a, self.imports[c]) for a, c in self.attrs if c in self.imports]


def parse_refactored(path: Path, where: str) -> Refactored:
    """Parse a refactored.py; a file that does not parse is bad input naming the file."""
    try:
        module = cst.parse_module(Path(path).read_text())
    except (OSError, cst.ParserSyntaxError) as err:
        raise UserInputError(f"cannot parse: {str(err).splitlines()[0] if str(err) else err}",
                             where=where, fix="fix the file (it must be valid Python)") from None
    out = Refactored(module)
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name) \
                        and not small.relative and isinstance(small.names, (list, tuple)):
                    for alias in small.names:
                        if isinstance(alias.name, cst.Name) and alias.name.value == "Model":
                            as_name = alias.asname.name.value if alias.asname and \
                                isinstance(alias.asname.name, cst.Name) else "Model"
                            out.imports[as_name] = small.module.value
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == "RefactoredModel":
            for item in stmt.body.body:
                if isinstance(item, cst.FunctionDef) and item.name.value == "__init__":
                    out.attrs = _child_attrs(item)
                if isinstance(item, cst.FunctionDef) and item.name.value == "forward":
                    out.forward = item
    return out


def _child_attrs(init: cst.FunctionDef) -> list[tuple[str, str]]:
    attrs = []
    for stmt in init.body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and \
                    self_attr(small.targets[0].target) and isinstance(small.value, cst.Call) and \
                    isinstance(small.value.func, cst.Name):
                attrs.append((self_attr(small.targets[0].target) or "", small.value.func.value))
    return attrs


def self_attr(node: cst.CSTNode) -> str | None:
    """`attr` of `self.attr`, else None."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and \
            node.value.value == "self":
        return node.attr.value
    return None


def called_attr(stmt: cst.CSTNode) -> str | None:
    """The child a simple statement calls (`y = self.fc(x)` -> `fc`), else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    value = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
    if isinstance(value, cst.Call):
        return self_attr(value.func)
    return None


def assigned_names(stmt: cst.CSTNode) -> list[str]:
    """Names a simple statement assigns (`a, b = ...` -> [a, b])."""
    out: list[str] = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    out += target_names(target.target)
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                out += target_names(small.target)
    return out


class _Loads(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `x.shape`: x is read, `shape` is not a name
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # keyword names are not reads
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node.value)


def loaded_names(node: cst.CSTNode) -> list[str]:
    """Names a statement reads, in order (assignment targets of simple statements excluded)."""
    visitor = _Loads()
    if isinstance(node, cst.SimpleStatementLine):
        for small in node.body:
            part: Any = small.value if isinstance(small, (cst.Assign, cst.Expr, cst.Return,
                                                          cst.AugAssign)) else small
            if part is not None:
                part.visit(visitor)
            if isinstance(small, cst.AugAssign):
                small.target.visit(visitor)
    else:
        node.visit(visitor)
    return visitor.names


def call_args(stmt: cst.CSTNode) -> list[cst.Arg]:
    """The arguments of the child call in `y = self.fc(x)`."""
    small = stmt.body[0]  # type: ignore[attr-defined]
    return list(small.value.args)
