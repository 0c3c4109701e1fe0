"""Static anti-cheat: judge refactored.py and children/*.py from their source, never running them.

Rules (each a code in `report.STATIC_RULES`):

- every file: imports only torch, the standard library (minus modules that reach into the
  interpreter: ctypes, gc, inspect, importlib, subprocess …) and children/; no eval/exec/getattr
  family, no dunder or private attributes, no assignments into modules it does not own, no file
  I/O, no re-seeding;
- refactored.py: module level holds imports, `sys.path` set-up, constants, template functions
  (get_inputs …) and the one class `RefactoredModel`; `__init__` instantiates only classes
  imported from children/ (in ModuleList/ModuleDict/Sequential if it likes), registers buffers
  from tensor factories, never nn.Parameter; `forward()`, helper methods and module-level helpers
  hold only child calls and plumbing per the op table (`hdecomp_ir.ops`), no `@`, no state kept
  across calls;
- children: a header docstring with `Abstraction Level:` below the parent's level, a `Model`
  class, not a copy of the original.

The dynamic guard (`instrument.py`) catches whatever this misses; these rules exist to give a
precise file:line and to refuse code before it runs.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import libcst as cst
import torch
from libcst.metadata import MetadataWrapper, PositionProvider

from hdecomp_ir.ops import OpKind
from hdecomp_ir.spec import Level
from hdecomp_ir.verification.classify import (ESCAPE_NAMES, META_NAMES, info_for_name,
                                              is_semantic_name)
from hdecomp_ir.verification.report import Violation

# Standard-library modules that can reach into the interpreter, the file system or other
# processes: a refactored step or a child never needs them.
DANGEROUS_STDLIB = frozenset({
    "ctypes", "gc", "inspect", "importlib", "builtins", "subprocess", "pickle", "marshal",
    "types", "threading", "_thread", "multiprocessing", "concurrent", "signal", "socket",
    "shutil", "tempfile", "runpy", "code", "codeop", "io", "sysconfig", "site", "atexit",
    "faulthandler", "copyreg", "shelve", "dbm", "sqlite3", "pty", "fcntl", "resource", "mmap",
    "select", "selectors", "asyncio", "http", "urllib", "ftplib", "smtplib", "webbrowser",
    "zipimport", "pkgutil", "trace", "tracemalloc", "glob", "fileinput", "linecache",
    "traceback", "weakref", "ast", "dis", "pdb", "bdb", "unittest", "zipfile", "tarfile",
})
# Third-party packages a child (where compute belongs) may use.
CHILD_THIRD_PARTY = frozenset({"einops"})

DYNAMIC_NAMES = frozenset({"eval", "exec", "compile", "getattr", "setattr", "delattr",
                           "__import__", "globals", "locals", "vars", "breakpoint", "input",
                           "__builtins__", "__loader__", "__spec__", "memoryview"})
FILE_NAMES = frozenset({"open"})
FILE_METHODS = frozenset({"write_text", "write_bytes", "read_text", "read_bytes", "open",
                          "unlink", "rmdir", "mkdir", "touch", "symlink_to", "hardlink_to",
                          "chmod", "mkfifo", "iterdir", "glob", "rglob", "tofile"})
# torch namespaces that touch files, processes or the network (or compile code at run time).
FILE_PATHS = frozenset({"torch.load", "torch.save", "torch.hub", "torch.jit.load",
                        "torch.jit.save", "torch.from_file", "torch.utils.cpp_extension",
                        "torch.serialization", "torch.multiprocessing", "torch.distributed",
                        "torch.package", "torch.onnx", "torch.profiler", "torch.utils.data",
                        "torch.utils.tensorboard", "torch.compile", "torch.export",
                        "torch.library", "torch.utils.checkpoint"})
RESEED_LEAVES = frozenset({"manual_seed", "manual_seed_all", "seed", "seed_all",
                           "set_rng_state", "set_rng_state_all", "fork_rng", "set_state",
                           "Generator", "initial_seed", "use_deterministic_algorithms"})
ALLOWED_DUNDERS = frozenset({"__init__", "__file__", "__name__"})
# The component template's test harness (run_tests, the __main__ guard) may use these; the
# verifier never runs the harness, and model code may not call it.
HARNESS_STDLIB = frozenset({"traceback", "io", "time", "unittest"})
TEMPLATE_FUNCTIONS = frozenset({"get_inputs", "get_init_inputs", "get_expected_output_shape",
                                "run_tests"})
SAFE_BUILTINS = frozenset({
    "len", "range", "int", "float", "bool", "str", "tuple", "list", "dict", "set", "frozenset",
    "zip", "enumerate", "isinstance", "min", "max", "abs", "round", "sum", "sorted", "reversed",
    "slice", "any", "all", "print", "divmod", "hasattr", "iter", "next", "map", "filter",
    "super", "type", "repr", "format", "ValueError", "RuntimeError", "AssertionError",
    "TypeError", "NotImplementedError", "Ellipsis", "None", "True", "False",
})
# Methods of Python containers and strings (a forward may collect child outputs in a list).
PY_METHODS = frozenset({"append", "extend", "insert", "pop", "keys", "values", "items", "get",
                        "update", "join", "format", "index", "count", "setdefault",
                        "startswith", "endswith", "lower", "upper", "strip"})
CONTAINERS = frozenset({"ModuleList", "ModuleDict", "Sequential"})
PARAMETER_CLASSES = frozenset({"Parameter", "UninitializedParameter", "Buffer",
                               "UninitializedBuffer"})

_LEVEL_RE = re.compile(r"Abstraction Level:\s*([A-Za-z]+)")
_COMPONENT_RE = re.compile(r"Component:\s*(\S+)")


@dataclass
class ChildFile:
    """A children/*.py file as the checker read it."""

    path: Path
    rel: str
    stem: str
    level: Level | None
    component: str | None
    semantic: bool

    def to_json(self) -> dict[str, Any]:
        return {"file": self.rel, "level": self.level.label if self.level is not None else None,
                "component": self.component, "semantic": self.semantic}


@dataclass
class StaticReport:
    """What the static pass found."""

    violations: list[Violation] = field(default_factory=list)
    children: dict[str, ChildFile] = field(default_factory=dict)
    original_level: Level | None = None


def read_header(source: str) -> tuple[Level | None, str | None, bool]:
    """(level, component name, header present) from a file's leading docstring."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None, None, False
    doc = module.get_docstring() or ""
    level_match = _LEVEL_RE.search(doc)
    comp_match = _COMPONENT_RE.search(doc)
    level = None
    if level_match:
        try:
            level = Level[level_match.group(1).upper()]
        except KeyError:
            level = None
    return level, comp_match.group(1) if comp_match else None, bool(level_match)


# ---------------------------------------------------------------------------------------------
# Small helpers over libcst nodes


def dotted(node: cst.BaseExpression) -> list[str] | None:
    """`a.b.c` -> ['a', 'b', 'c']; None for anything that is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return head + [node.attr.value] if head is not None else None
    return None


def chain_root(node: cst.BaseExpression) -> cst.BaseExpression:
    """The innermost value of an attribute/subscript/call chain: `self` for `self.a[0].b`."""
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.value if not isinstance(node, cst.Call) else node.func
    return node


def module_name_of(node: cst.BaseExpression | None) -> str:
    """Dotted text of an import's module expression."""
    if node is None:
        return ""
    parts = dotted(node)
    return ".".join(parts) if parts else ""


def resolve_object(path: Sequence[str]) -> tuple[bool, Any]:
    """Look a dotted path up in torch or the (safe) standard library: (found, object).

    Only trusted modules are imported here, never the code under judgement.
    """
    root = path[0]
    if root != "torch" and (root not in sys.stdlib_module_names or root in DANGEROUS_STDLIB):
        return False, None
    try:
        obj: Any = torch if root == "torch" else importlib.import_module(root)
        for part in path[1:]:
            obj = getattr(obj, part)
    except (AttributeError, ImportError, RuntimeError):
        return False, None
    return True, obj


@dataclass(frozen=True)
class Target:
    """What a dotted name in the file refers to."""

    kind: str  # module | object | child_class | child_module | original | unknown
    path: tuple[str, ...] = ()


class _Imports:
    """Local names bound by import statements, resolved to what they denote."""

    def __init__(self, child_stems: set[str], original_stem: str) -> None:
        self.names: dict[str, Target] = {}
        self.child_stems = child_stems
        self.original_stem = original_stem

    def bind_import(self, alias: cst.ImportAlias) -> None:
        full = module_name_of(alias.name)
        parts = full.split(".")
        if alias.asname is not None:
            local = alias.asname.name.value  # type: ignore[union-attr]
            self.names[local] = self._module_target(parts)
        else:
            self.names[parts[0]] = self._module_target(parts[:1])

    def bind_from(self, module: str, relative: int, alias: cst.ImportAlias) -> None:
        name = module_name_of(alias.name)
        local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
        parts = [p for p in module.split(".") if p]
        stem = self._child_stem(parts, relative)
        if stem is not None:
            self.names[local] = Target("child_class", (stem, name))
        elif parts == ["children"] and name in self.child_stems:
            self.names[local] = Target("child_module", (name,))
        else:
            self.names[local] = Target("object", tuple(parts + [name]))

    def _module_target(self, parts: list[str]) -> Target:
        stem = self._child_stem(parts, 0)
        if stem is not None:
            return Target("child_module", (stem,))
        return Target("module", tuple(parts))

    def _child_stem(self, parts: list[str], relative: int) -> str | None:
        if len(parts) == 2 and parts[0] == "children" and parts[1] in self.child_stems:
            return parts[1]
        if len(parts) == 1 and parts[0] in self.child_stems and parts[0] != "children":
            return parts[0]
        return None

    def resolve(self, parts: Sequence[str]) -> Target | None:
        """Resolve a dotted expression whose root is an imported name."""
        target = self.names.get(parts[0])
        if target is None:
            return None
        if target.kind in ("module", "object"):
            return Target("object", target.path + tuple(parts[1:]))
        if target.kind == "child_module":
            return Target("child_class", (target.path[0], *parts[1:2]))
        return target


# ---------------------------------------------------------------------------------------------
# The per-file checker


class FileChecker:
    """Runs the rules on one parsed file and collects violations with positions."""

    def __init__(self, rel: str, source: str, *, child_stems: set[str], original_stem: str,
                 is_child: bool) -> None:
        self.rel = rel
        self.is_child = is_child
        self.child_stems = child_stems
        self.original_stem = original_stem
        self.violations: list[Violation] = []
        self._seen: set[tuple[str, int | None, str]] = set()
        self.allowed_calls: set[int] = set()  # calls a subclass has vetted (sidecar loads)
        self.module: cst.Module | None = None
        self.positions: Any = None
        try:
            wrapper = MetadataWrapper(cst.parse_module(source))
        except cst.ParserSyntaxError as err:
            self.add_at("syntax_error", err.raw_line or None,
                        f"does not parse: {str(err).splitlines()[0]}")
            return
        self.module = wrapper.module
        self.positions = wrapper.resolve(PositionProvider)
        self.imports = _Imports(child_stems, original_stem)
        for node in _walk(self.module):
            if isinstance(node, cst.Import):
                for alias in node.names:
                    self.imports.bind_import(alias)
            elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    self.imports.bind_from(module_name_of(node.module), len(node.relative), alias)

    # -- reporting

    def line_of(self, node: cst.CSTNode) -> int | None:
        try:
            return self.positions[node].start.line
        except (KeyError, TypeError):
            return None

    def add(self, rule: str, node: cst.CSTNode | None, message: str) -> None:
        self.add_at(rule, self.line_of(node) if node is not None else None, message)

    def add_at(self, rule: str, line: int | None, message: str) -> None:
        key = (rule, line, message)
        if key not in self._seen:
            self._seen.add(key)
            self.violations.append(Violation(rule, message, self.rel, line))

    def code(self, node: cst.CSTNode) -> str:
        text = cst.Module(body=[]).code_for_node(node)
        return text if len(text) <= 60 else text[:57] + "..."

    # -- classification of names

    def classify_path(self, parts: Sequence[str]) -> tuple[str, str]:
        """('ok'|'compute'|'module_class'|'parameter'|'container'|'child'|'file'|'escape', name)."""
        target = self.imports.resolve(parts)
        if target is None:
            return "unknown", ".".join(parts)
        if target.kind == "child_class":
            return "child", ".".join(parts)
        path = target.path
        text = ".".join(path)
        if any(text == p or text.startswith(p + ".") for p in FILE_PATHS):
            return "file", text
        if not path:
            return "unknown", text
        if path[0] == "math":
            return "ok", text  # scalar math on Python numbers (1 / math.sqrt(d))
        if path[:3] == ("torch", "ops", "aten") and len(path) >= 4:
            found, obj = resolve_object(path if len(path) == 5 else path[:4])
            if found:
                packet_or_overload = obj
                info = _info_for_aten(packet_or_overload)
                if info is not None:
                    return ("ok" if info.kind is not OpKind.COMPUTE else "compute"), text
            return "compute", text
        found, obj = resolve_object(path)
        leaf = path[-1]
        if found:
            if isinstance(obj, type):
                if issubclass(obj, torch.nn.Parameter) or obj.__name__ in PARAMETER_CLASSES:
                    return "parameter", text
                if issubclass(obj, torch.nn.Module):
                    return ("container" if obj.__name__ in CONTAINERS else "module_class"), text
                return "ok", text
            if not callable(obj):
                return "ok", text  # dtypes, constants
            if path[0] != "torch":
                leaf = getattr(obj, "__name__", leaf)
        if leaf in META_NAMES:
            return "ok", text
        if leaf in ESCAPE_NAMES:
            return "escape", text
        if path[0] not in ("torch", "einops") and not found:
            return "unknown", text
        info = info_for_name(leaf)
        if info is None or info.kind is not OpKind.COMPUTE:
            return "ok", text
        return "compute", text

    def is_compute_callable(self, parts: Sequence[str]) -> bool:
        """A reference (not a call) to a compute function: an alias in the making."""
        target = self.imports.resolve(parts)
        if target is None or target.kind != "object" or not target.path:
            return False
        found, obj = resolve_object(target.path)
        if not found or isinstance(obj, type) or not callable(obj):
            return False
        return self.classify_path(parts)[0] in ("compute", "escape")

    # -- rules every file obeys

    def check_universal(self) -> None:
        assert self.module is not None
        declared = _declared_names(self.module)
        harness = _harness_nodes(self.module)
        harness_names = {s.name.value for s in self.module.body
                         if isinstance(s, cst.FunctionDef) and s.name.value in TEMPLATE_FUNCTIONS}
        for node in _walk(self.module):
            in_harness = id(node) in harness
            if isinstance(node, cst.Import):
                for alias in node.names:
                    self._check_import(node, module_name_of(alias.name), 0, harness=in_harness)
            elif isinstance(node, cst.ImportFrom):
                mod = module_name_of(node.module)
                names = [] if isinstance(node.names, cst.ImportStar) else \
                    [module_name_of(a.name) for a in node.names]
                if isinstance(node.names, cst.ImportStar):
                    self.add("forbidden_import", node, f"`from {mod} import *`: import names explicitly")
                self._check_import(node, mod, len(node.relative), names, harness=in_harness)
            elif isinstance(node, cst.Name) and id(node) not in declared:
                if node.value in harness_names and not in_harness and self.is_child:
                    self.add("forbidden_construct", node, f"`{node.value}` is the file's test "
                             "harness; model code may not use it")
                if node.value in DYNAMIC_NAMES:
                    self.add("dynamic_code", node, f"`{node.value}` builds names or code at run "
                             "time; write the attribute or call out")
                elif node.value in FILE_NAMES:
                    self.add("file_io", node, "`open` reads or writes files; a step computes "
                             "only from its inputs")
            elif isinstance(node, cst.Attribute):
                if not in_harness:  # the spec's run_tests uses sys.exit and torch.utils._pytree
                    self._check_attribute(node)
            elif isinstance(node, cst.Call):
                self._check_call_universal(node)
            elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Del)):
                self._check_assignment(node)
            elif isinstance(node, cst.Global):
                self.add("monkeypatch", node, "`global` rebinds module state from inside a function")

    def _check_import(self, node: cst.CSTNode, module: str, relative: int,
                      names: Sequence[str] = (), harness: bool = False) -> None:
        parts = [p for p in module.split(".") if p]
        top = parts[0] if parts else ""
        full = [*parts, *names]
        if relative and not parts:  # `from . import x`
            top = names[0] if names else ""
        if top == "hdecomp_ir" or top == "hdecomp":
            self.add("imports_verifier", node, f"imports `{module}`: the step may not touch the verifier")
            return
        stems = {self.original_stem, "original"}
        if top in stems or any(p in stems for p in full[:2] if p not in self.child_stems):
            self.add("imports_original", node, f"imports the original (`{module or names[0]}`): "
                     "compute must come from children/, not from the model being decomposed")
            return
        if top == "children" or top in self.child_stems:
            return
        if relative:
            return self._relative_import(node, parts, names)
        if not harness and any(p.startswith("_") and not p.startswith("__future") for p in parts[1:]):
            self.add("private_access", node, f"imports private module `{module}`")
            return
        if top == "torch" or top == "__future__":
            return
        if top in DANGEROUS_STDLIB and not (harness and top in HARNESS_STDLIB):
            self.add("forbidden_import", node, f"imports `{module}`, which reaches into the "
                     "interpreter, files or processes; it is not allowed in a step")
            return
        if top in sys.stdlib_module_names:
            return
        if self.is_child and top in CHILD_THIRD_PARTY:
            return
        where = "children/, torch and the standard library"
        self.add("forbidden_import", node, f"imports `{module}`: only {where} may be imported")

    def _relative_import(self, node: cst.CSTNode, parts: list[str], names: Sequence[str]) -> None:
        if parts[:1] == ["children"] or (self.is_child and (not parts or parts[0] in self.child_stems)):
            return
        self.add("forbidden_import", node, "relative import outside children/")

    def _check_attribute(self, node: cst.Attribute) -> None:
        attr = node.attr.value
        parts = dotted(node)
        if attr.startswith("__") and attr.endswith("__"):
            if attr not in ALLOWED_DUNDERS:
                self.add("private_access", node, f"`.{attr}` reaches into interpreter internals")
            return
        root = chain_root(node)
        root_name = root.value if isinstance(root, cst.Name) else None
        if attr.startswith("_") and root_name != "self" and not self._is_aten_path(parts):
            self.add("private_access", node, f"`{self.code(node)}` uses private attribute `{attr}`")
            return
        escaped = self._leaves_its_module(parts) if parts else None
        if escaped:
            self.add("dynamic_code", node, f"`{'.'.join(parts)}` reaches module `{escaped}` "
                     "through another module's attributes; import what you need instead")
            return
        if parts and len(parts) >= 2:
            target = self.imports.resolve(parts[:2])
            if target is not None and target.path[:1] == ("sys",) and parts[1] != "path":
                self.add("dynamic_code", node, f"`{'.'.join(parts[:2])}`: only sys.path.insert/append "
                         "is allowed")
            if target is not None and target.path[:1] == ("os",) and parts[1] != "path":
                self.add("file_io", node, f"`{'.'.join(parts[:2])}`: only os.path is allowed")

    def _leaves_its_module(self, parts: list[str]) -> str | None:
        """The foreign module a dotted chain walks into (`torch.os` -> 'os'), else None."""
        target = self.imports.resolve(parts)
        if target is None or target.kind != "object" or len(target.path) < 2:
            return None
        root = target.path[0]
        if root != "torch" and (root not in sys.stdlib_module_names or root in DANGEROUS_STDLIB):
            return None
        found, obj = resolve_object(target.path[:1])
        for part in target.path[1:]:
            try:
                obj = getattr(obj, part)
            except (AttributeError, ImportError, RuntimeError):
                return None
            name = getattr(obj, "__name__", "") if isinstance(obj, type(sys)) else ""
            top = name.split(".")[0]
            if name and top != root and (top in DANGEROUS_STDLIB or top in ("os", "sys") or
                                         top not in sys.stdlib_module_names):
                return name
        return None

    def _is_aten_path(self, parts: list[str] | None) -> bool:
        """`torch.ops.aten._to_copy.default`: aten's own names may start with `_`."""
        if not parts:
            return False
        target = self.imports.resolve(parts)
        return target is not None and target.path[:3] == ("torch", "ops", "aten")

    def _check_call_universal(self, node: cst.Call) -> None:
        if id(node) in self.allowed_calls:
            return
        func = node.func
        parts = dotted(func)
        leaf = func.attr.value if isinstance(func, cst.Attribute) else (
            func.value if isinstance(func, cst.Name) else None)
        if isinstance(func, cst.Attribute) and leaf in FILE_METHODS:
            self.add("file_io", node, f"`.{leaf}()` touches files; a step computes only from its inputs")
        if parts:
            target = self.imports.resolve(parts)
            text = ".".join(target.path) if target is not None and target.kind == "object" else ""
            if text and any(text == p or text.startswith(p + ".") for p in FILE_PATHS):
                self.add("file_io", node, f"`{text}` reads or writes files")
            if leaf in RESEED_LEAVES and (target is not None or len(parts) > 1):
                self.add("reseed", node, f"`{'.'.join(parts)}` re-seeds or replaces the RNG; weights "
                         "must come from weight transfer, not from a matching default init")

    def _check_assignment(self, node: cst.CSTNode) -> None:
        for target in _assign_targets(node):
            if isinstance(target, cst.Name) and target.value.startswith("__"):
                self.add("private_access", target, f"assigns `{target.value}`, an interpreter name")
            if isinstance(target, (cst.Attribute, cst.Subscript)):
                root = chain_root(target)
                if isinstance(root, cst.Name) and root.value != "self" and \
                        root.value in self.imports.names:
                    self.add("monkeypatch", target, f"assigns `{self.code(target)}`, which belongs to "
                             f"module `{root.value}`; a step may not patch other modules")
                elif not isinstance(root, cst.Name):
                    self.add("monkeypatch", target, f"assigns into `{self.code(target)}`")


def _info_for_aten(obj: Any):
    from hdecomp_ir.ops import op_info

    if isinstance(obj, torch._ops.OpOverload):
        return op_info(obj)
    if isinstance(obj, torch._ops.OpOverloadPacket):
        overloads = obj.overloads()
        return op_info(getattr(obj, overloads[0])) if overloads else None
    return None


def _harness_nodes(module: cst.Module) -> set[int]:
    """Ids of every node inside template functions and the `if __name__ == "__main__":` block."""
    out: set[int] = set()
    for stmt in module.body:
        is_template = isinstance(stmt, cst.FunctionDef) and stmt.name.value in TEMPLATE_FUNCTIONS
        is_main = isinstance(stmt, cst.If) and isinstance(stmt.test, cst.Comparison) and \
            isinstance(stmt.test.left, cst.Name) and stmt.test.left.value == "__name__"
        if is_template or is_main:
            out.update(id(node) for node in _walk(stmt))
    return out


def _declared_names(module: cst.Module) -> set[int]:
    """Ids of Name nodes that declare or select rather than refer (def names, `.attr`, kwargs)."""
    out: set[int] = set()
    for node in _walk(module):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param)):
            out.add(id(node.name))
        elif isinstance(node, cst.Attribute):
            out.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            out.add(id(node.keyword))
    return out


def _walk(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    """Every node below `node`, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _assign_targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    if isinstance(node, cst.Assign):
        out: list[cst.BaseExpression] = []
        for t in node.targets:
            out.extend(_unpack(t.target))
        return out
    if isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        return _unpack(node.target)
    if isinstance(node, cst.Del):
        return _unpack(node.target)
    return []


def _unpack(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        out: list[cst.BaseExpression] = []
        for el in target.elements:
            out.extend(_unpack(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return _unpack(target.value)
    return [target]


def _bound_names(func: cst.FunctionDef) -> set[str]:
    """Names local to a function: parameters and everything it assigns or loops over."""
    names = set()
    params = func.params
    for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
        names.add(p.name.value)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    for node in _walk(func.body):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            targets = _assign_targets(node)
        elif isinstance(node, (cst.For, cst.CompFor)):
            targets = _unpack(node.target)
        elif isinstance(node, cst.NamedExpr):
            targets = [node.target]
        elif isinstance(node, cst.AsName):
            targets = _unpack(node.name) if isinstance(node.name, cst.BaseExpression) else []
        names.update(t.value for t in targets if isinstance(t, cst.Name))
    return names


# ---------------------------------------------------------------------------------------------
# refactored.py


MODULE_API = frozenset(name for name in dir(torch.nn.Module) if not name.startswith("__"))


class RefactoredChecker(FileChecker):
    """The parent's rules on top of the universal ones."""

    def run(self) -> None:
        if self.module is None:
            return
        self.check_universal()
        self.helpers: set[str] = set()
        self.module_names: set[str] = set()
        self.local_classes: set[str] = set()
        classes = []
        for stmt in self.module.body:
            if isinstance(stmt, cst.FunctionDef):
                self.module_names.add(stmt.name.value)
                if stmt.name.value not in TEMPLATE_FUNCTIONS:
                    self.helpers.add(stmt.name.value)
            elif isinstance(stmt, cst.ClassDef):
                classes.append(stmt)
                if stmt.name.value != "RefactoredModel":
                    self.local_classes.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    for t in _assign_targets(small):
                        if isinstance(t, cst.Name):
                            self.module_names.add(t.value)
        for stmt in self.module.body:
            self._check_module_statement(stmt)
        main = [c for c in classes if c.name.value == "RefactoredModel"]
        for cls in classes:
            if cls.name.value != "RefactoredModel":
                self.add("local_class", cls, f"class `{cls.name.value}` defined in refactored.py: "
                         "every module must come from a file in children/")
        if not main:
            self.add_at("missing_class", None, "no class `RefactoredModel` in refactored.py")
            return
        self._check_class(main[0])

    # -- module level

    def _check_module_statement(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.FunctionDef):
            if stmt.decorators:
                self.add("forbidden_construct", stmt, "decorated module-level function")
            if stmt.name.value not in TEMPLATE_FUNCTIONS:
                self._check_function(stmt, where=f"module-level helper `{stmt.name.value}`",
                                     locals_=_bound_names(stmt), init=False)
            return
        if isinstance(stmt, cst.ClassDef):
            return
        if isinstance(stmt, cst.If) and self._is_main_guard(stmt.test):
            return
        if isinstance(stmt, cst.Try) and all(self._is_import_like(s) for s in _try_statements(stmt)):
            return
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._check_module_small(small)
            return
        self.add("module_level_code", stmt, "only imports, sys.path set-up, constants, "
                 "template functions and RefactoredModel may appear at module level")

    def _is_main_guard(self, test: cst.BaseExpression) -> bool:
        return isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and \
            test.left.value == "__name__"

    def _is_import_like(self, stmt: cst.CSTNode) -> bool:
        if isinstance(stmt, cst.SimpleStatementLine):
            return all(isinstance(s, (cst.Import, cst.ImportFrom, cst.Pass)) or
                       self._is_sys_path(s) for s in stmt.body)
        return False

    def _is_sys_path(self, small: cst.CSTNode) -> bool:
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
            return False
        parts = dotted(small.value.func)
        if not parts or len(parts) != 3:
            return False
        target = self.imports.resolve(parts[:1])
        return target is not None and target.path == ("sys",) and parts[1] == "path" and \
            parts[2] in ("insert", "append")

    def _check_module_small(self, small: cst.CSTNode) -> None:
        if isinstance(small, (cst.Import, cst.ImportFrom, cst.Pass)):
            return
        if isinstance(small, cst.Expr):
            if isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                return  # docstring
            if self._is_sys_path(small):
                return
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
            self._check_constant(small.value)
            return
        self.add("module_level_code", small, f"`{self.code(small)}` at module level: only imports, "
                 "sys.path set-up and constants are allowed")

    def _check_constant(self, value: cst.BaseExpression) -> None:
        for node in _walk(value):
            if isinstance(node, cst.Lambda):
                self.add("alias", node, "a lambda at module level hides code outside forward()")
            elif isinstance(node, cst.Call):
                kind, text = self._call_kind(node.func, set())
                if kind not in ("ok", "builtin"):
                    self.add("module_level_code", node, f"`{self.code(node)}` computes at import time")
            elif isinstance(node, (cst.Attribute, cst.Name)):
                parts = dotted(node)
                if parts and self.is_compute_callable(parts):
                    self.add("alias", node, f"binds `{'.'.join(parts)}` to a name; call compute "
                             "only inside a child")

    # -- the class

    def _check_class(self, cls: cst.ClassDef) -> None:
        for base in cls.bases:
            parts = dotted(base.value)
            target = self.imports.resolve(parts) if parts else None
            ok = target is not None and target.path in (("torch", "nn", "Module"),
                                                        ("torch", "nn", "modules", "module", "Module"))
            if not ok:
                self.add("overrides_module_api", base, f"RefactoredModel must subclass nn.Module "
                         f"directly, not `{self.code(base.value)}`")
        if cls.decorators:
            self.add("forbidden_construct", cls, "decorated RefactoredModel")
        body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else []
        methods = {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}
        self.methods = set(methods)
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                continue
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
                        continue
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                        self._check_constant(small.value)
                        continue
                    if isinstance(small, cst.Pass):
                        continue
                    self.add("forbidden_construct", small, "class body holds only methods and constants")
            else:
                self.add("forbidden_construct", stmt, "class body holds only methods and constants")
        if "forward" not in methods:
            self.add_at("missing_class", self.line_of(cls), "RefactoredModel has no forward()")
        self.child_attrs: set[str] = set()
        init = methods.get("__init__")
        if init is not None:
            self._collect_child_attrs(init)
        for name, fn in methods.items():
            if fn.decorators:
                self.add("forbidden_construct", fn, f"decorated method `{name}`")
            if name == "__init__":
                self._check_function(fn, where="__init__", locals_=_bound_names(fn), init=True)
            elif name == "forward" or not (name in MODULE_API or name.startswith("__")):
                self._check_function(fn, where=f"{name}()", locals_=_bound_names(fn), init=False)
            else:
                self.add("overrides_module_api", fn, f"RefactoredModel defines `{name}`, which "
                         "overrides nn.Module behaviour; only __init__, forward and helpers are allowed")

    def _collect_child_attrs(self, init: cst.FunctionDef) -> None:
        for node in _walk(init.body):
            for target in _assign_targets(node):
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and \
                        target.value.value == "self":
                    self.child_attrs.add(target.attr.value)
            if isinstance(node, cst.Call):
                parts = dotted(node.func)
                if parts == ["self", "add_module"] and node.args and \
                        isinstance(node.args[0].value, cst.SimpleString):
                    self.child_attrs.add(node.args[0].value.evaluated_value)  # type: ignore[arg-type]
                if parts == ["self", "register_buffer"] and node.args and \
                        isinstance(node.args[0].value, cst.SimpleString):
                    self.child_attrs.add(node.args[0].value.evaluated_value)  # type: ignore[arg-type]

    # -- function bodies

    def _call_kind(self, func: cst.BaseExpression, locals_: set[str]) -> tuple[str, str]:
        """How a call target classifies: ok/builtin/local/helper/self/child/compute/…"""
        parts = dotted(func)
        if parts is not None:
            root = parts[0]
            if root == "self":
                return "self", ".".join(parts)
            if root in locals_:
                if len(parts) == 1:
                    return "local", root
                return self._method_kind(parts[-1])
            if len(parts) == 1:
                if root in self.imports.names:
                    return self.classify_path(parts)
                if root in self.helpers:
                    return "helper", root
                if root in self.local_classes:
                    return "local_class", root
                if root in TEMPLATE_FUNCTIONS and root in self.module_names:
                    return "template", root
                if root in SAFE_BUILTINS:
                    return "builtin", root
                if root in self.module_names:
                    return "module_name", root
                return "unknown", root
            if root in self.imports.names:
                return self.classify_path(parts)
            if root in self.module_names:
                return "module_state", ".".join(parts)
            return "unknown", ".".join(parts)
        root_node = chain_root(func)
        if isinstance(root_node, cst.Name) and root_node.value == "super":
            return "ok", "super()"
        if isinstance(root_node, cst.Name) and root_node.value == "self" and \
                isinstance(func, (cst.Subscript, cst.Call)):
            return "self_item", self.code(func)
        if isinstance(func, cst.Attribute):
            return self._method_kind(func.attr.value)
        return "ok", self.code(func)

    def _method_kind(self, method: str) -> tuple[str, str]:
        if method in PY_METHODS or method in META_NAMES:
            return "ok", method
        if method in ESCAPE_NAMES:
            return "escape", method
        if method in FILE_METHODS:
            return "file", method
        info = info_for_name(method)
        if info is None or info.kind is not OpKind.COMPUTE:
            return "ok", method
        return "compute", method

    def _check_function(self, fn: cst.FunctionDef, *, where: str, locals_: set[str],
                        init: bool) -> None:
        called: set[int] = set()  # nodes that are no standalone reference
        for node in _walk(fn.body):
            if isinstance(node, cst.Attribute):
                # The attribute's own Name and the inner part of a dotted chain are judged
                # with the whole chain.
                called.add(id(node.attr))
                called.add(id(node.value))
            elif isinstance(node, cst.Arg) and node.keyword is not None:
                called.add(id(node.keyword))
            elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                called.update(id(t) for t in _assign_targets(node))
            if isinstance(node, cst.Call):
                called.add(id(node.func))
                self._check_call(node, where=where, locals_=locals_, init=init)
            elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply):
                self.add("matmul_operator", node, f"`{self.code(node)}` in {where}: `@` is a matmul; "
                         "put it in a child")
            elif isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.MatrixMultiplyAssign):
                self.add("matmul_operator", node, f"`@=` in {where}: a matmul belongs in a child")
            elif isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
                kind = {cst.Lambda: "lambda", cst.FunctionDef: "nested def",
                        cst.ClassDef: "local class"}[type(node)]
                self.add("forbidden_construct", node, f"{kind} in {where}")
            elif isinstance(node, (cst.Try, cst.TryStar, cst.With, cst.Nonlocal, cst.Yield,
                                   cst.Await)):
                self.add("forbidden_construct", node, f"`{type(node).__name__.lower()}` in {where}: "
                         "keep the parent straight-line plumbing")
            elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and not init:
                for target in _assign_targets(node):
                    self._check_forward_target(target, where, locals_)
            elif isinstance(node, (cst.Attribute, cst.Name)) and id(node) not in called:
                self._check_reference(node, where=where, locals_=locals_, init=init)

    def _check_forward_target(self, target: cst.BaseExpression, where: str, locals_: set[str]) -> None:
        root = chain_root(target)
        if isinstance(root, cst.Name) and root.value == "self":
            self.add("stateful_forward", target, f"`{self.code(target)} = …` in {where}: forward() "
                     "may not keep state across calls (no caches, no flags)")
        elif isinstance(root, cst.Name) and root.value not in locals_ and \
                root.value not in self.imports.names:
            self.add("stateful_forward", target, f"writes module-level `{root.value}` in {where}")

    def _check_reference(self, node: cst.BaseExpression, *, where: str, locals_: set[str],
                         init: bool) -> None:
        parts = dotted(node)
        if not parts or parts[0] in locals_ or parts[0] == "self":
            if parts and parts[0] == "self" and len(parts) >= 3 and parts[1] in self.child_attrs \
                    and not init:
                self.add("reaches_into_child", node, f"`{'.'.join(parts)}` in {where}: call the child "
                         "module instead of using its internals")
            return
        if self.is_compute_callable(parts):
            self.add("alias", node, f"`{'.'.join(parts)}` referenced without a call in {where}: "
                     "compute functions may not be passed around in the parent")

    def _check_call(self, node: cst.Call, *, where: str, locals_: set[str], init: bool) -> None:
        kind, text = self._call_kind(node.func, locals_)
        if kind in ("ok", "builtin", "local", "helper"):
            return
        if kind == "self":
            self._check_self_call(node, text, where=where, init=init)
        elif kind == "self_item":
            root = dotted(_strip_subscripts(node.func))
            if root and len(root) == 2 and root[1] not in self.child_attrs:
                self.add("compute_op", node, f"`{text}` in {where} is not a child module")
        elif kind == "child":
            if not init:
                self.add("init_call", node, f"constructs child `{text}` inside {where}; build "
                         "children in __init__")
        elif kind == "container":
            if not init:
                self.add("init_call", node, f"`{text}` inside {where}")
        elif kind == "parameter":
            self.add("parameter_in_init", node, f"`{text}` in {where}: every parameter must belong "
                     "to a child module")
        elif kind == "module_class":
            self.add("raw_module_in_init", node, f"`{self.code(node.func)}(…)` in {where}: "
                     "instantiate a class imported from children/ instead")
        elif kind == "compute":
            rule = "init_call" if init else "compute_op"
            self.add(rule, node, f"`{self.code(node.func)}` in {where} is a compute op; "
                     "move it into a child module")
        elif kind == "escape":
            self.add("compute_op", node, f"`{self.code(node.func)}` in {where} takes values out of "
                     "torch; compute on them belongs in a child")
        elif kind == "file":
            self.add("file_io", node, f"`{text}` in {where} touches files")
        elif kind == "template":
            self.add("compute_op", node, f"{where} calls `{text}()`; the verifier supplies inputs")
        elif kind == "module_name":
            self.add("alias", node, f"{where} calls module-level `{text}`, which is not a function "
                     "defined in this file: compute functions may not be renamed")
        elif kind == "module_state":
            self.add("stateful_forward", node, f"{where} calls `{text}` on module-level state; "
                     "the parent keeps no state across calls")
        elif kind == "local_class":
            self.add("local_class", node, f"{where} instantiates `{text}`, a class defined in "
                     "refactored.py; modules must come from children/")
        elif text not in DYNAMIC_NAMES:  # those are reported as dynamic_code already
            self.add("compute_op", node, f"`{text}(…)` in {where}: unknown function; the parent "
                     "may only call children, torch plumbing and its own helpers")

    def _check_self_call(self, node: cst.Call, text: str, *, where: str, init: bool) -> None:
        parts = text.split(".")
        if len(parts) == 2:
            attr = parts[1]
            if attr in self.child_attrs or attr in self.methods:
                return
            if init and attr in ("register_buffer", "add_module"):
                return
            if attr in ("register_parameter",):
                self.add("parameter_in_init", node, f"`self.{attr}` in {where}: parameters belong "
                         "to children")
                return
            if attr in MODULE_API:
                self.add("overrides_module_api", node, f"`self.{attr}()` in {where} changes the "
                         "module (mode, parameters, hooks); the verifier owns that")
                return
            self.add("compute_op", node, f"`self.{attr}()` in {where} is not a child module")
            return
        if len(parts) >= 3 and parts[1] in self.child_attrs:
            self.add("reaches_into_child", node, f"`{text}()` in {where}: call the child itself "
                     f"(`self.{parts[1]}(...)`), not its methods")
            return
        if parts[:2] == ["self", "training"]:
            return
        self.add("compute_op", node, f"`{text}()` in {where} is not a child module call")


def _strip_subscripts(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.Subscript):
        node = node.value
    return node


def _try_statements(stmt: cst.Try) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = list(stmt.body.body)
    for handler in stmt.handlers:
        out.extend(handler.body.body)
    if stmt.orelse is not None:
        out.extend(stmt.orelse.body.body)
    if stmt.finalbody is not None:
        out.extend(stmt.finalbody.body.body)
    return out


# ---------------------------------------------------------------------------------------------
# children/*.py


class ChildChecker(FileChecker):
    """Universal rules, a header with a level, a `Model` class, not the original itself.

    One file read is allowed: the code generator ships buffer values (a causal mask) beside the
    component as `<file>.buffers.pt`, loaded at module level with `weights_only=True` and used
    only to register buffers, which weight transfer overwrites anyway.
    """

    def run(self, original_model_code: str | None) -> None:
        if self.module is None:
            return
        self.allowed_calls = self._sidecar_loads()
        self.check_universal()
        classes = {s.name.value: s for s in self.module.body if isinstance(s, cst.ClassDef)}
        if "Model" not in classes:
            self.add_at("missing_class", None, "child file has no class `Model`")
        if "Model" in classes and original_model_code is not None:
            mine = _normalized(classes["Model"])
            if mine == original_model_code:
                self.add("child_copies_original", classes["Model"], "this child's Model is the "
                         "original's Model: a step must split the original into smaller parts")
        self._check_sidecar_uses()

    def _sidecar_loads(self) -> set[int]:
        """Ids of the allowed `torch.load(<sidecar>, weights_only=True)` calls; names bound."""
        assert self.module is not None
        allowed: set[int] = set()
        self.sidecar_names: set[str] = set()
        for stmt in self.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                continue
            small = stmt.body[0]
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and
                    isinstance(small.targets[0].target, cst.Name) and
                    isinstance(small.value, cst.Call)):
                continue
            call = small.value
            parts = dotted(call.func)
            target = self.imports.resolve(parts) if parts else None
            weights_only = any(a.keyword is not None and a.keyword.value == "weights_only" and
                               isinstance(a.value, cst.Name) and a.value.value == "True"
                               for a in call.args)
            positional = [a for a in call.args if a.keyword is None]
            if target is not None and target.path == ("torch", "load") and weights_only and \
                    len(positional) == 1 and _is_sidecar_path(positional[0].value):
                allowed.add(id(call))
                self.sidecar_names.add(small.targets[0].target.value)
        return allowed

    def _check_sidecar_uses(self) -> None:
        """Loaded sidecar values may only feed `register_buffer` in the model's classes."""
        if not self.sidecar_names:
            return
        assert self.module is not None
        inside_register: set[int] = set()
        for node in _walk(self.module):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
                    node.func.attr.value == "register_buffer":
                inside_register.update(id(n) for n in _walk(node))
        assigned = {id(stmt.body[0].targets[0].target) for stmt in self.module.body
                    if isinstance(stmt, cst.SimpleStatementLine) and stmt.body and
                    isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1}
        declared = _declared_names(self.module)
        for node in _walk(self.module):
            if isinstance(node, cst.Name) and node.value in self.sidecar_names and \
                    id(node) not in inside_register and id(node) not in assigned and \
                    id(node) not in declared:
                self.add("file_io", node, f"`{node.value}` holds data read from a file; it may "
                         "only initialise buffers through register_buffer")


def _is_sidecar_path(node: cst.BaseExpression) -> bool:
    """`Path(__file__).with_suffix(".buffers.pt")` (or `.with_name("….pt")`)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and
            node.func.attr.value in ("with_suffix", "with_name") and len(node.args) == 1):
        return False
    arg = node.args[0].value
    base = node.func.value
    return isinstance(arg, cst.SimpleString) and str(arg.evaluated_value).endswith(".pt") and \
        isinstance(base, cst.Call) and dotted(base.func) == ["Path"] and len(base.args) == 1 and \
        isinstance(base.args[0].value, cst.Name) and base.args[0].value.value == "__file__"


def _normalized(cls: cst.ClassDef) -> str:
    """Class source without docstrings and comments, for identity comparisons."""
    code = cst.Module(body=[cls]).code
    code = re.sub(r"#.*", "", code)
    code = re.sub(r'("""|\'\'\')[\s\S]*?\1', "", code)
    return "\n".join(line.rstrip() for line in code.splitlines() if line.strip())


def _original_model_code(source: str) -> str | None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Model":
            return _normalized(stmt)
    return None


def check_sources(original: Path, refactored: Path, children_dir: Path,
                  step_dir: Path) -> StaticReport:
    """Run every static rule on refactored.py and children/*.py."""
    report = StaticReport()
    child_paths = sorted(children_dir.glob("*.py")) if children_dir.is_dir() else []
    stems = {p.stem for p in child_paths if p.stem != "__init__"}
    original_source = original.read_text()
    report.original_level, _, _ = read_header(original_source)
    original_code = _original_model_code(original_source)

    ref_rel = _rel(refactored, step_dir)
    checker = RefactoredChecker(ref_rel, refactored.read_text(), child_stems=stems,
                                original_stem=original.stem, is_child=False)
    checker.run()
    report.violations.extend(checker.violations)

    for path in child_paths:
        if path.stem == "__init__":
            continue
        rel = _rel(path, step_dir)
        source = path.read_text()
        level, component, has_header = read_header(source)
        report.children[rel] = ChildFile(path, rel, path.stem, level, component,
                                         is_semantic_name(path.stem) or
                                         is_semantic_name(component or ""))
        child = ChildChecker(rel, source, child_stems=stems, original_stem=original.stem,
                             is_child=True)
        child.run(original_code)
        report.violations.extend(child.violations)
        if child.module is None:
            continue
        if not has_header or level is None:
            report.violations.append(Violation(
                "missing_level_header", "child file needs a header docstring with "
                "`Abstraction Level: kernel|fusion|layer|model`", rel, 1))
        elif report.original_level is not None and level >= report.original_level:
            report.violations.append(Violation(
                "child_level", f"child is at level {level.label}, not below the parent's "
                f"{report.original_level.label}: each step goes at least one level down", rel, 1))
    return report


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)
