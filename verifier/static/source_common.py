"""Shared machinery of the static rules: import tables, name resolution, the universal rules.

Every Python file of a step (refactored.py and everything under children/, recursively) obeys
the universal rules, which are allow-lists (`allowlist` holds the tables and says why): imports
only torch, torch.nn, torch.nn.functional, math, typing, einops and children/; of torch no private
names, torch.ops, torch.library, torch.overrides, torch.utils …; only allowed builtins, no names
the file does not define; no dunder or private attributes, no frame or traceback fields; no
format templates that read attributes; no assignments into modules it does not own; no file I/O;
no re-seeding. sys, os and pathlib.Path appear only in the prescribed sys.path line and the
buffer-sidecar load; the self-test harness (run_tests, the `__main__` block) may use sys.exit and
traceback.print_exc, and model code may not call it.
"""

from __future__ import annotations

import importlib
import string
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import libcst as cst
import torch
from libcst.metadata import BuiltinAssignment, MetadataWrapper, PositionProvider, ScopeProvider

from hdecomp_ir.policy import MASK_CONSTRUCTION_NAMES, OpInfo, is_compute_in_parent
from hdecomp_ir.spec import HDECOMP_PACKAGES
from verifier.static import allowlist
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
TEMPLATE_FUNCTIONS = frozenset({"get_inputs", "get_init_inputs", "get_expected_output_shape",
                                "run_tests"})
SAFE_BUILTINS = frozenset({
    "len", "range", "int", "float", "bool", "str", "tuple", "list", "dict", "set", "frozenset",
    "zip", "enumerate", "isinstance", "min", "max", "abs", "round", "sum", "sorted", "reversed",
    "slice", "any", "all", "print", "divmod", "hasattr", "iter", "next", "map", "filter",
    "super", "repr", "format", "ValueError", "RuntimeError", "AssertionError",
    "TypeError", "NotImplementedError", "Ellipsis", "None", "True", "False",
})
# Methods of Python containers and strings (a forward may collect child outputs in a list).
PY_METHODS = frozenset({"append", "extend", "insert", "pop", "keys", "values", "items", "get",
                        "update", "join", "format", "index", "count", "setdefault",
                        "startswith", "endswith", "lower", "upper", "strip"})
# einops functions that only move data: plumbing in a parent (reduce and einsum compute).
EINOPS_PLUMBING = frozenset({"rearrange", "repeat", "pack", "unpack", "parse_shape"})
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
        elif ".".join([*(parts[1:] if parts[:1] == ["children"] else parts), name]) in \
                self.child_stems:
            rest = parts[1:] if parts[:1] == ["children"] else parts
            self.names[local] = Target("child_module", (".".join([*rest, name]),))
        else:
            self.names[local] = Target("object", tuple(parts + [name]))

    def _module_target(self, parts: list[str]) -> Target:
        stem = self._child_stem(parts, 0)
        if stem is not None:
            return Target("child_module", (stem,))
        return Target("module", tuple(parts))

    def _child_stem(self, parts: list[str], relative: int) -> str | None:
        """The child module (dotted, relative to children/) that `parts` names, if any:
        `children.sub.k` and `sub.k` both name children/sub/k.py."""
        rest = parts[1:] if parts[:1] == ["children"] else parts
        name = ".".join(rest)
        if rest and name in self.child_stems:
            return name
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
                 is_child: bool, package: str = "") -> None:
        self.rel = rel
        self.package = package  # a child's package below children/ ("sub" for children/sub/k.py)
        self.is_child = is_child
        self.child_stems = child_stems
        self.original_stem = original_stem
        self.violations: list[Violation] = []
        self._seen: set[tuple[str, int | None, str]] = set()
        self.allowed_calls: set[int] = set()  # calls a subclass has vetted (sidecar loads)
        self.module: cst.Module | None = None
        self._wrapper: MetadataWrapper | None = None
        self._positions: Any = None
        try:
            # The tree was parsed here and nothing else holds it, so the wrapper's defensive deep
            # copy would only cost time.
            wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
        except cst.ParserSyntaxError as err:
            self.add_at("syntax_error", err.raw_line or None,
                        f"does not parse: {str(err).splitlines()[0]}")
            return
        self.module = wrapper.module
        self._wrapper = wrapper
        self.scopes = wrapper.resolve(ScopeProvider)
        # Nodes a subclass recognised as the prescribed preamble, the buffer-sidecar load or the
        # harness's own calls: the only places sys, os, Path, traceback and __file__ may appear.
        self.approved: set[int] = set()
        self.imports = ImportTable(child_stems, original_stem)
        # Every node once, in source order: libcst computes `children` anew on each access, so
        # the rules iterate this list instead of walking the tree again.
        self.nodes: list[cst.CSTNode] = list(walk(self.module))
        for node in self.nodes:
            if isinstance(node, cst.Import):
                for alias in node.names:
                    self.imports.bind_import(alias)
            elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    self.imports.bind_from(module_name_of(node.module), len(node.relative), alias)

    # -- reporting

    @property
    def positions(self) -> Any:
        """Source positions, computed on the first violation: most files have none, and the
        position pass costs as much as parsing."""
        if self._positions is None and self._wrapper is not None:
            self._positions = self._wrapper.resolve(PositionProvider)
        return self._positions

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
        if path[0] == "einops" and path[-1] in EINOPS_PLUMBING:
            return "ok", text  # pure data movement (reshape/permute/expand); the guard sees its ops
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
        """The allow-list rules of `allowlist` and the older universal rules, on every node."""
        assert self.module is not None
        declared = declared_names(self.module, self.nodes)
        harness = harness_nodes(self.module)
        self._approve_harness_paths(harness)
        for node in self.nodes:
            if isinstance(node, (cst.Import, cst.ImportFrom)):
                # import statements bind names; _check_import judges what they bind
                self.approve(node)
        harness_names = {s.name.value for s in self.module.body
                         if isinstance(s, cst.FunctionDef) and s.name.value in TEMPLATE_FUNCTIONS}
        inner = {id(n.value) for n in self.nodes if isinstance(n, cst.Attribute)}
        for node in self.nodes:
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
                if node.value in harness_names and not in_harness and \
                        (self.is_child or node.value == "run_tests"):
                    self.add("forbidden_construct", node, f"`{node.value}` is the file's test "
                             "harness; model code may not use it")
                if node.value in DYNAMIC_NAMES:
                    self.add("dynamic_code", node, f"`{node.value}` builds names or code at run "
                             "time; write the attribute or call out")
                elif node.value in FILE_NAMES:
                    self.add("file_io", node, "`open` reads or writes files; a step computes "
                             "only from its inputs")
                else:
                    self._check_restricted_name(node)
            elif isinstance(node, cst.Attribute):
                if id(node) not in self.approved:
                    self._check_attribute(node, maximal=id(node) not in inner)
            elif isinstance(node, cst.Call):
                self._check_call_universal(node)
            elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Del)):
                self._check_assignment(node)
            elif isinstance(node, cst.Global):
                self.add("monkeypatch", node, "`global` rebinds module state from inside a function")
            elif isinstance(node, (cst.Await, cst.Yield)) or \
                    (isinstance(node, cst.FunctionDef) and node.asynchronous is not None):
                self.add("forbidden_construct", node, "generators and coroutines are not model "
                         "code (their frames reach the interpreter); return values instead")
            elif isinstance(node, cst.ClassDef):
                self._check_class_defs(node)
        self._check_names(declared)

    # -- allow-list pieces

    def _approve_harness_paths(self, harness: set[int]) -> None:
        """Inside the harness, `sys.exit(…)` and `traceback.print_exc()` are the harness's own;
        approve their nodes."""
        assert self.module is not None
        for node in self.nodes:
            if id(node) in harness and isinstance(node, cst.Attribute):
                parts = dotted(node)
                target = self.imports.resolve(parts) if parts else None
                if target is not None and target.path in allowlist.HARNESS_PATHS:
                    self.approved.update(id(n) for n in walk(node))

    def approve(self, node: cst.CSTNode) -> None:
        """Mark a recognised construct (preamble line, sidecar load): its names are allowed."""
        self.approved.update(id(n) for n in walk(node))

    def _check_restricted_name(self, node: cst.Name) -> None:
        """sys, os, Path, traceback and `__file__` only inside approved constructs."""
        if id(node) in self.approved:
            return
        name = node.value
        if name == "__file__":
            self.add("file_io", node, "`__file__` outside the prescribed `sys.path` line and the "
                     "buffer-sidecar load: a step computes only from its inputs")
            return
        target = self.imports.names.get(name)
        if target is None or not target.path:
            return
        root = target.path[0]
        if root == "sys":
            self.add("dynamic_code", node, f"`{name}` outside the prescribed "
                     "`sys.path.insert(0, str(Path(__file__).parent / \"children\"))` line reaches "
                     "module tables and the interpreter")
        elif root in ("os", "pathlib"):
            self.add("file_io", node, f"`{name}` outside the prescribed `sys.path` line and the "
                     "buffer-sidecar load touches files or the process")
        elif root == "traceback":
            self.add("private_access", node, f"`{name}` outside the self-test harness walks frames")

    def _check_names(self, declared: set[int]) -> None:
        """Every name that is not defined in the file must be an allowed builtin."""
        seen: set[int] = set()
        for scope in set(self.scopes.values()):
            if scope is None:
                continue
            for access in scope.accesses:
                node = access.node
                if not isinstance(node, cst.Name) or id(node) in seen or id(node) in declared:
                    continue
                seen.add(id(node))
                name = node.value
                local = [r for r in access.referents if not isinstance(r, BuiltinAssignment)]
                if local:
                    continue
                if name in DYNAMIC_NAMES or name in FILE_NAMES or name == "__file__":
                    continue  # reported by their own rules
                if name == "__name__":
                    if id(node) not in self.approved and id(node) not in self._main_guard_names():
                        self.add("private_access", node, "`__name__` outside the "
                                 "`if __name__ == \"__main__\":` guard")
                    continue
                if name.startswith("__") and name.endswith("__"):
                    self.add("private_access", node, f"`{name}` reaches interpreter internals")
                elif name in allowlist.DYNAMIC_BUILTINS:
                    self.add("dynamic_code", node, f"`{name}` reaches names, types or code at run "
                             "time; write the attribute or call out")
                elif name not in allowlist.ALLOWED_BUILTINS:
                    known = access.referents and "a builtin outside the allow-list" or \
                        "defined nowhere in this file"
                    self.add("forbidden_name", node, f"`{name}` is {known}; a step file may name "
                             "only what it defines or imports and the allowed builtins")

    def _main_guard_names(self) -> set[int]:
        assert self.module is not None
        out: set[int] = set()
        for stmt in self.module.body:
            if isinstance(stmt, cst.If) and is_main_guard(stmt.test):
                out.add(id(stmt.test.left))  # type: ignore[attr-defined]
        return out

    def _check_class_defs(self, cls: cst.ClassDef) -> None:
        """Dunder methods (`__torch_function__`, `__call__`, `__getattr__` …) and, in a child,
        overrides of nn.Module's machinery change how the verifier sees the module."""
        for kw in cls.keywords:
            self.add("forbidden_construct", kw, f"class `{cls.name.value}` takes keyword "
                     f"`{kw.keyword.value}`: metaclasses run code when the class is built")
        body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else []
        for stmt in body:
            if not isinstance(stmt, cst.FunctionDef):
                continue
            name = stmt.name.value
            if name.startswith("__") and name.endswith("__"):
                if name not in allowlist.ALLOWED_ATTRIBUTE_DUNDERS:
                    self.add("private_access", stmt, f"class `{cls.name.value}` defines `{name}`: "
                             "dunder methods change how Python and torch call the object")
            elif self.is_child and name in allowlist.MODULE_PRIVATE:
                self.add("private_access", stmt, f"class `{cls.name.value}` overrides nn.Module's "
                         f"internal `{name}`")
            elif self.is_child and name in allowlist.MODULE_PUBLIC_API and \
                    name not in allowlist.CHILD_OVERRIDABLE:
                self.add("overrides_module_api", stmt, f"class `{cls.name.value}` overrides "
                         f"nn.Module.{name}; weight transfer and the guard rely on it")

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
        child_tops = {s.split(".")[0] for s in self.child_stems}
        if top in stems or any(p in stems for p in full[:2] if p not in child_tops):
            self.add("imports_original", node, f"imports the original (`{module or names[0]}`): "
                     "compute must come from children/, not from the model being decomposed")
            return
        if relative:
            return self._relative_import(node, parts, names)
        if top == "children" or top in child_tops:
            if top == "children" and not parts[1:] and not all(
                    n in self.child_stems for n in names):
                self.add("forbidden_import", node, f"imports `{', '.join(names)}` from children/, "
                         "which is not a child file")
            return
        if top == "__future__":
            return
        if any(p.startswith("_") for p in full):
            self.add("private_access", node, f"imports private `{'.'.join(full)}`")
            return
        if top in ("sys", "os", "pathlib", "traceback"):
            ok = (harness and module in allowlist.HARNESS_MODULES and not names) or \
                (not harness and not self.is_child and module in ("sys", "os", "os.path")
                 and not names) or \
                (not harness and module == "pathlib" and list(names) == ["Path"])
            if not ok:
                self.add("forbidden_import", node, f"imports `{module}` here: sys/os/pathlib are "
                         "allowed only for the prescribed sys.path line (refactored.py), the "
                         "buffer-sidecar load (children) and the self-test harness")
            return
        if not allowlist.module_allowed(module):
            what = "reaches into the interpreter, files or processes" if top in DANGEROUS_STDLIB \
                else "is not on the allow-list"
            self.add("forbidden_import", node, f"imports `{module}`, which {what}: only torch, "
                     "torch.nn, torch.nn.functional, math, typing, einops and children/ may be "
                     "imported")
            return
        for name in names:
            sub = f"{module}.{name}"
            if allowlist.module_allowed(sub):
                continue
            if top == "torch":
                path = (*parts, name)
                if any(sub == p or sub.startswith(p + ".") for p in FILE_PATHS):
                    self.add("file_io", node, f"imports `{sub}`, which touches files or processes")
                    continue
                found = allowlist.check_torch_path(path)
                if found is None:
                    found_obj, obj = resolve_object(path)
                    if found_obj and isinstance(obj, type(sys)):
                        found = ("forbidden_api", f"imports module `{obj.__name__}`, which is not "
                                 "on the allow-list")
                if found is not None:
                    self.add(found[0], node, f"imports {found[1]}")
            else:
                found = allowlist.check_library_name(module, name)
                if found is not None:
                    self.add(found[0], node, found[1])

    def _relative_import(self, node: cst.CSTNode, parts: list[str], names: Sequence[str]) -> None:
        if self.is_child:
            # `from .k import Model` / `from . import k`: resolved against the file's package.
            base = self.package.split(".") if self.package else []
            levels = len(getattr(node, "relative", ())) - 1
            base = base[:len(base) - levels] if levels else base
            if levels <= len(base) or not base:
                target = ".".join([*base, *parts])
                if target in self.child_stems or \
                        all(".".join([*base, *parts, n]).strip(".") in self.child_stems for n in names):
                    return
        if parts[:1] == ["children"]:
            return
        self.add("forbidden_import", node, "relative import of something that is not a child file")

    def _parent_call_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The Call whose callee is `node`, if any (calls are judged by _check_call_universal)."""
        if not hasattr(self, "_callees"):
            assert self.module is not None
            self._callees = {id(n.func): n for n in self.nodes if isinstance(n, cst.Call)}
        return self._callees.get(id(node))

    def _check_attribute(self, node: cst.Attribute, *, maximal: bool = True) -> None:
        attr = node.attr.value
        parts = dotted(node)
        if attr.startswith("__") and attr.endswith("__"):
            if attr not in allowlist.ALLOWED_ATTRIBUTE_DUNDERS:
                self.add("private_access", node, f"`.{attr}` reaches into interpreter internals")
            return
        if attr in allowlist.FRAME_ATTRIBUTES:
            self.add("private_access", node, f"`.{attr}` reaches interpreter frames, tracebacks "
                     "or code objects")
            return
        root = chain_root(node)
        root_name = root.value if isinstance(root, cst.Name) else None
        if attr.startswith("_") and root_name == "self" and attr in allowlist.MODULE_PRIVATE:
            self.add("private_access", node, f"`{self.code(node)}` uses nn.Module's internal "
                     f"`{attr}`; use the public API")
            return
        if attr.startswith("_") and root_name != "self" and not self._is_aten_path(parts):
            self.add("private_access", node, f"`{self.code(node)}` uses private attribute `{attr}`")
            return
        if maximal and parts:
            target = self.imports.resolve(parts)
            text = ".".join(target.path) if target is not None else ""
            if target is not None and target.kind == "object" and \
                    any(text == p or text.startswith(p + ".") for p in FILE_PATHS) and \
                    not isinstance(self._parent_call_of(node), cst.Call):
                self.add("file_io", node, f"`{text}` touches files or processes")
            if target is not None and target.kind == "object" and target.path[:1] == ("torch",):
                found = allowlist.check_torch_path(target.path)
                if found is not None:
                    self.add(found[0], node, found[1])
            elif target is not None and target.kind == "object" and target.path[:1] == ("typing",):
                found = allowlist.check_library_name("typing", target.path[1])
                if found is not None:
                    self.add(found[0], node, found[1])
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
        if isinstance(func, cst.Attribute) and leaf in ("format", "format_map"):
            self._check_format(node, func)
        if isinstance(func, cst.Name) and leaf == "hasattr" and (
                len(node.args) != 2 or not isinstance(node.args[1].value, cst.SimpleString)):
            self.add("dynamic_code", node, "`hasattr` with a computed attribute name; write the "
                     "name as a string literal")
        if parts:
            target = self.imports.resolve(parts)
            text = ".".join(target.path) if target is not None and target.kind == "object" else ""
            if text and any(text == p or text.startswith(p + ".") for p in FILE_PATHS):
                self.add("file_io", node, f"`{text}` reads or writes files")
            if leaf in RESEED_LEAVES and (target is not None or len(parts) > 1):
                self.add("reseed", node, f"`{'.'.join(parts)}` re-seeds or replaces the RNG; weights "
                         "must come from weight transfer, not from a matching default init")

    def _check_format(self, node: cst.Call, func: cst.Attribute) -> None:
        """`"{0.__class__}".format(x)` reads attributes by a name hidden in a string: only
        literal templates whose fields are plain names or positions are allowed."""
        template = func.value
        if not isinstance(template, (cst.SimpleString, cst.ConcatenatedString)):
            self.add("dynamic_code", node, f"`{self.code(func)}(…)` formats with a template that is "
                     "not a string literal; its fields could read any attribute")
            return
        text = template.evaluated_value
        try:
            fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(str(text)) if f]
        except ValueError:
            fields = ["?"]
        for field in fields:
            if "." in field or "[" in field or field == "?":
                self.add("dynamic_code", node, f"format field `{{{field}}}` reads attributes or "
                         "items by a name inside a string; format plain values")
                return

    def _check_assignment(self, node: cst.CSTNode) -> None:
        for target in assign_targets(node):
            if isinstance(target, cst.Name) and target.value.startswith("__") and \
                    target.value != "__all__":
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
    dynamic guard judges what the operands turn out to be. Mask construction is left to it
    entirely: on constants it is plumbing."""
    return is_compute_in_parent(info.kind, reads_weight=False) and \
        info.name not in MASK_CONSTRUCTION_NAMES


def _info_for_aten(obj: Any):
    from hdecomp_ir.policy import op_info

    if isinstance(obj, torch._ops.OpOverload):
        return op_info(obj)
    if isinstance(obj, torch._ops.OpOverloadPacket):
        overloads = obj.overloads()
        return op_info(getattr(obj, overloads[0])) if overloads else None
    return None


def is_main_guard(test: cst.BaseExpression) -> bool:
    """Exactly `__name__ == "__main__"` (not `!=`, not `or …`): a block that never runs when the
    verifier imports the file."""
    return isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and \
        test.left.value == "__name__" and len(test.comparisons) == 1 and \
        isinstance(test.comparisons[0].operator, cst.Equal) and \
        isinstance(test.comparisons[0].comparator, cst.SimpleString) and \
        test.comparisons[0].comparator.evaluated_value == "__main__"


def harness_nodes(module: cst.Module) -> set[int]:
    """Ids of every node of the self-test harness: an undecorated `run_tests` without default
    values, and the `if __name__ == "__main__":` block. Neither runs during verification (the
    worker calls get_inputs/get_init_inputs, so those get the full rules)."""
    out: set[int] = set()
    for stmt in module.body:
        is_run_tests = isinstance(stmt, cst.FunctionDef) and stmt.name.value == "run_tests" and \
            not stmt.decorators and not any(p.default is not None for p in stmt.params.params)
        is_main = isinstance(stmt, cst.If) and is_main_guard(stmt.test) and stmt.orelse is None
        if is_run_tests or is_main:
            out.update(id(node) for node in walk(stmt))
    return out


def declared_names(module: cst.Module, nodes: Sequence[cst.CSTNode] | None = None) -> set[int]:
    """Ids of Name nodes that declare or select rather than refer (def names, `.attr`, kwargs);
    `nodes` is the module's nodes when the caller has them listed already."""
    out: set[int] = set()
    for node in (nodes if nodes is not None else walk(module)):
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
