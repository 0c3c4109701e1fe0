"""Shared machinery of the static rules: import tables, name resolution, the universal rules.

Every file of a step (refactored.py and children/*.py) obeys the universal rules: imports only
torch, the standard library (minus modules that reach into the interpreter, files or other
processes) and children/; no eval/exec/getattr family; no dunder or private attributes; no
assignments into modules it does not own; no file I/O; no re-seeding. The component template's
test harness (run_tests, the __main__ guard) may use a little more, and model code may not call it.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import libcst as cst
import torch
from libcst.metadata import MetadataWrapper, PositionProvider

from hdecomp_ir.policy import OpInfo, is_compute_in_parent
from hdecomp_ir.spec import HDECOMP_PACKAGES
from verifier.static.classify import ESCAPE_NAMES, META_NAMES, info_for_name
from verifier.report import Violation

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


class ImportTable:
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
        self.imports = ImportTable(child_stems, original_stem)
        for node in walk(self.module):
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
                    return ("compute" if parent_compute(info) else "ok"), text
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
        if info is None or not parent_compute(info):
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
        declared = declared_names(self.module)
        harness = harness_nodes(self.module)
        harness_names = {s.name.value for s in self.module.body
                         if isinstance(s, cst.FunctionDef) and s.name.value in TEMPLATE_FUNCTIONS}
        for node in walk(self.module):
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
        if top in HDECOMP_PACKAGES:
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
        for target in assign_targets(node):
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


def parent_compute(info: OpInfo) -> bool:
    """The parent rule of the op table on a name seen in source. Source shows no operands:
    reaching a child's weights is refused by its own rule (`reaches_into_child`), and the
    dynamic guard judges what the operands turn out to be."""
    return is_compute_in_parent(info.kind, reads_weight=False)


def _info_for_aten(obj: Any):
    from hdecomp_ir.policy import op_info

    if isinstance(obj, torch._ops.OpOverload):
        return op_info(obj)
    if isinstance(obj, torch._ops.OpOverloadPacket):
        overloads = obj.overloads()
        return op_info(getattr(obj, overloads[0])) if overloads else None
    return None


def harness_nodes(module: cst.Module) -> set[int]:
    """Ids of every node inside template functions and the `if __name__ == "__main__":` block."""
    out: set[int] = set()
    for stmt in module.body:
        is_template = isinstance(stmt, cst.FunctionDef) and stmt.name.value in TEMPLATE_FUNCTIONS
        is_main = isinstance(stmt, cst.If) and isinstance(stmt.test, cst.Comparison) and \
            isinstance(stmt.test.left, cst.Name) and stmt.test.left.value == "__name__"
        if is_template or is_main:
            out.update(id(node) for node in walk(stmt))
    return out


def declared_names(module: cst.Module) -> set[int]:
    """Ids of Name nodes that declare or select rather than refer (def names, `.attr`, kwargs)."""
    out: set[int] = set()
    for node in walk(module):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param)):
            out.add(id(node.name))
        elif isinstance(node, cst.Attribute):
            out.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            out.add(id(node.keyword))
    return out


def walk(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    """Every node below `node`, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def assign_targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    if isinstance(node, cst.Assign):
        out: list[cst.BaseExpression] = []
        for t in node.targets:
            out.extend(unpack_target(t.target))
        return out
    if isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        return unpack_target(node.target)
    if isinstance(node, cst.Del):
        return unpack_target(node.target)
    return []


def unpack_target(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        out: list[cst.BaseExpression] = []
        for el in target.elements:
            out.extend(unpack_target(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return unpack_target(target.value)
    return [target]


def bound_names(func: cst.FunctionDef) -> set[str]:
    """Names local to a function: parameters and everything it assigns or loops over."""
    names = set()
    params = func.params
    for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
        names.add(p.name.value)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    for node in walk(func.body):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            targets = assign_targets(node)
        elif isinstance(node, (cst.For, cst.CompFor)):
            targets = unpack_target(node.target)
        elif isinstance(node, cst.NamedExpr):
            targets = [node.target]
        elif isinstance(node, cst.AsName):
            targets = unpack_target(node.name) if isinstance(node.name, cst.BaseExpression) else []
        names.update(t.value for t in targets if isinstance(t, cst.Name))
    return names


# ---------------------------------------------------------------------------------------------
# refactored.py
