"""Rules for refactored.py: the parent holds only child calls and plumbing.

Module level holds imports, `sys.path` set-up, constants, template functions (get_inputs …) and
the one class `RefactoredModel`. `__init__` instantiates only classes imported from children/
(in ModuleList/ModuleDict/Sequential if it likes) and registers buffers from tensor factories,
never nn.Parameter. `forward()`, helper methods and module-level helpers hold only child calls and
plumbing per the op table (`hdecomp_ir.policy`), no `@`, and keep no state across calls.
"""

from __future__ import annotations

import libcst as cst
import torch

from verifier.static.classify import ESCAPE_NAMES, META_NAMES, info_for_name
from verifier.static.source_common import (DYNAMIC_NAMES, FILE_METHODS, PY_METHODS,
                                                   SAFE_BUILTINS, TEMPLATE_FUNCTIONS, FileChecker,
                                                   assign_targets, bound_names, chain_root,
                                                   dotted, parent_compute, walk)

MODULE_API = frozenset(name for name in dir(torch.nn.Module) if not name.startswith("__"))


class RefactoredChecker(FileChecker):
    """The parent's rules on top of the universal ones."""

    def run(self) -> None:
        self._consts: set[str] = set()  # constant locals of the function being checked
        if self.module is None:
            return
        self._approve_preamble()
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
                    for t in assign_targets(small):
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
                                     locals_=bound_names(stmt), init=False)
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

    def _approve_preamble(self) -> None:
        """The prescribed `sys.path` line (at module level, or in a module-level try) is the one
        place refactored.py may name sys, os, Path and __file__."""
        assert self.module is not None
        for stmt in self.module.body:
            lines = _try_statements(stmt) if isinstance(stmt, cst.Try) else [stmt]
            for line in lines:
                if isinstance(line, cst.SimpleStatementLine):
                    for small in line.body:
                        if self._is_sys_path(small):
                            self.approve(small)

    def _is_sys_path(self, small: cst.CSTNode) -> bool:
        """`sys.path.insert(0, <children dir>)` or `sys.path.append(<children dir>)`, where the
        directory is `children/` beside this file (`str(Path(__file__).parent / "children")` as
        the specification writes it, or the os.path spelling). Any other sys.path edit could
        make files outside the step importable."""
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
            return False
        call = small.value
        parts = dotted(call.func)
        if not parts or len(parts) != 3:
            return False
        target = self.imports.resolve(parts[:1])
        if not (target is not None and target.path == ("sys",) and parts[1] == "path"):
            return False
        args = [a for a in call.args]
        if any(a.keyword is not None or a.star for a in args):
            return False
        if parts[2] == "insert" and len(args) == 2 and isinstance(args[0].value, cst.Integer) \
                and args[0].value.value == "0":
            return self._path_kind(args[1].value) == "children"
        if parts[2] == "append" and len(args) == 1:
            return self._path_kind(args[0].value) == "children"
        return False

    def _path_kind(self, node: cst.BaseExpression) -> str | None:
        """'file' / 'dir' / 'children' for expressions naming this file, its directory or the
        children/ directory beside it; None for anything else."""
        parts = dotted(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        if parts == ["__file__"]:
            return "file"
        if isinstance(node, cst.Attribute) and node.attr.value == "parent":
            return "dir" if self._path_kind(node.value) == "file" else None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            right = node.right
            if self._path_kind(node.left) == "dir" and isinstance(right, cst.SimpleString) and \
                    right.evaluated_value in ("children", "children/"):
                return "children"
            return None
        if not isinstance(node, cst.Call):
            return None
        args = [a.value for a in node.args if a.keyword is None and not a.star]
        if len(args) != len(node.args):
            return None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("resolve", "absolute") \
                and not args:
            return self._path_kind(node.func.value)
        func = dotted(node.func)
        target = self.imports.resolve(func) if func else None
        path = target.path if target is not None else ()
        if path in (("pathlib", "Path"), ("str",)) or func == ["str"]:
            return self._path_kind(args[0]) if len(args) == 1 else None
        if path in (("os", "path", "abspath"), ("os", "path", "realpath")) and len(args) == 1:
            return self._path_kind(args[0])
        if path == ("os", "path", "dirname") and len(args) == 1:
            return "dir" if self._path_kind(args[0]) == "file" else None
        if path == ("os", "path", "join") and len(args) == 2 and \
                isinstance(args[1], cst.SimpleString) and args[1].evaluated_value == "children":
            return "children" if self._path_kind(args[0]) == "dir" else None
        return None

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
        for node in walk(value):
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
                self._check_function(fn, where="__init__", locals_=bound_names(fn), init=True)
            elif name == "forward" or not (name in MODULE_API or name.startswith("__")):
                self._check_function(fn, where=f"{name}()", locals_=bound_names(fn), init=False)
            else:
                self.add("overrides_module_api", fn, f"RefactoredModel defines `{name}`, which "
                         "overrides nn.Module behaviour; only __init__, forward and helpers are allowed")

    def _collect_child_attrs(self, init: cst.FunctionDef) -> None:
        for node in walk(init.body):
            for target in assign_targets(node):
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
        if info is None or not parent_compute(info):
            return "ok", method
        return "compute", method

    # Attributes of a value that read its metadata, never its values.
    _METADATA = frozenset({"shape", "device", "dtype", "ndim", "size", "dim", "numel"})

    def _constant_locals(self, fn: cst.FunctionDef) -> set[str]:
        """Locals of a straight-line function whose values are built from literals, factories
        and the metadata (shape, device, dtype) of other values alone: T5's relative position
        buckets, transformers' masks. Compute on them is the policy's constant work, so the
        source rules leave it to the dynamic guard, which sees the values and has the last word
        (a local wrongly taken for a constant here is still judged there)."""
        consts: set[str] = set()
        for stmt in fn.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if not isinstance(small, cst.Assign):
                    continue
                names = [t.value for t in assign_targets(small) if isinstance(t, cst.Name)]
                if self._is_constant(small.value, consts):
                    consts.update(names)
                else:
                    consts.difference_update(names)
        return consts

    def _is_constant(self, expr: cst.BaseExpression, consts: set[str]) -> bool:
        """Whether `expr` reads no value but literals, constant locals and metadata."""
        if isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString, cst.Imaginary)):
            return True
        if isinstance(expr, cst.Name):
            return expr.value in consts or expr.value in ("None", "True", "False")
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in self._METADATA:
                return True  # `x.shape`: any value's metadata
            parts = dotted(expr)
            if parts and parts[0] in self.imports.names and parts[0] not in consts:
                return True  # `torch.bool`, `math.pi`: a module's constant
            if parts and parts[0] == "self" and len(parts) == 2 and \
                    parts[1] not in self.child_attrs:
                return True  # `self.num_buckets`: configuration, or a buffer (a constant)
            return False
        if isinstance(expr, cst.Call):
            func = expr.func
            parts = dotted(func)
            if parts and parts[0] == "self":
                return False  # a child or a helper computes on activations
            if parts and parts[0] in self.imports.names:
                head_ok = True  # `torch.arange(...)`, `torch.log(...)`
            elif isinstance(func, cst.Attribute):
                head_ok = func.attr.value in self._METADATA or self._is_constant(func.value, consts)
            else:
                head_ok = bool(parts) and parts[0] in ("int", "float", "min", "max", "len", "abs")
            return head_ok and all(self._is_constant(a.value, consts) for a in expr.args)
        if isinstance(expr, cst.Subscript):
            return self._is_constant(expr.value, consts) and all(
                self._is_constant_slice(el.slice, consts) for el in expr.slice)
        if isinstance(expr, cst.BinaryOperation):
            return self._is_constant(expr.left, consts) and self._is_constant(expr.right, consts)
        if isinstance(expr, cst.UnaryOperation):
            return self._is_constant(expr.expression, consts)
        if isinstance(expr, cst.Comparison):
            return self._is_constant(expr.left, consts) and all(
                self._is_constant(c.comparator, consts) for c in expr.comparisons)
        if isinstance(expr, (cst.Tuple, cst.List)):
            return all(self._is_constant(el.value, consts) for el in expr.elements)
        return False

    def _is_constant_slice(self, index: cst.BaseSlice, consts: set[str]) -> bool:
        if isinstance(index, cst.Index):
            return self._is_constant(index.value, consts)
        return all(part is None or self._is_constant(part, consts)
                   for part in (index.lower, index.upper, index.step))

    def _check_function(self, fn: cst.FunctionDef, *, where: str, locals_: set[str],
                        init: bool) -> None:
        self._consts = set() if init else self._constant_locals(fn)
        called: set[int] = set()  # nodes that are no standalone reference
        for node in walk(fn.body):
            if isinstance(node, cst.Attribute):
                # The attribute's own Name and the inner part of a dotted chain are judged
                # with the whole chain.
                called.add(id(node.attr))
                called.add(id(node.value))
            elif isinstance(node, cst.Arg) and node.keyword is not None:
                called.add(id(node.keyword))
            elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                called.update(id(t) for t in assign_targets(node))
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
                for target in assign_targets(node):
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
            if not init and self._is_constant(node, self._consts):
                return  # constant work (positions, masks): the dynamic guard judges it
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
