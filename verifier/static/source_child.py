"""Rules for children/*.py: compute is allowed here, escapes are not.

On top of the universal rules a child file needs a `Model` class that is not the original's,
and may read exactly one file: the buffer values the code generator ships beside it.
"""

from __future__ import annotations

import re

import libcst as cst

from verifier.static.source_common import FileChecker, declared_names, dotted, walk

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
        for node in self.nodes:
            if id(node) in self.allowed_calls:
                self.approve(node)
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
        for node in self.nodes:
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
                    node.func.attr.value == "register_buffer":
                inside_register.update(id(n) for n in walk(node))
        assigned = {id(stmt.body[0].targets[0].target) for stmt in self.module.body
                    if isinstance(stmt, cst.SimpleStatementLine) and stmt.body and
                    isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1}
        declared = declared_names(self.module, self.nodes)
        for node in self.nodes:
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


def original_model_code(source: str) -> str | None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Model":
            return _normalized(stmt)
    return None


class PackageInitChecker(FileChecker):
    """children/__init__.py (and a subpackage's): it runs whenever a child is imported through
    its package, so it gets the universal rules and may hold only a docstring, imports of
    children, `__all__` and `pass`, never compute, state or patches."""

    def run(self) -> None:
        if self.module is None:
            return
        self.check_universal()
        for stmt in self.module.body:
            smalls = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [stmt]
            for small in smalls:
                if isinstance(small, (cst.Import, cst.ImportFrom, cst.Pass)):
                    continue
                if isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
                    continue
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and \
                        isinstance(small.targets[0].target, cst.Name) and \
                        small.targets[0].target.value == "__all__":
                    continue
                self.add("module_level_code", small, "a package __init__.py under children/ may "
                         "hold only a docstring, imports of children and __all__; put code in a "
                         "child file")
