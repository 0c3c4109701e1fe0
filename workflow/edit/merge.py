"""`hdecomp merge DIR CHILD CHILD ... --as NAME`: kernels of one step grouped into a new fusion.

The chosen kernels must be children of one parent step. Their calls in the parent's forward(),
with the plumbing between them that both reads a chosen kernel's result and feeds another, make
the fusion's forward(); statements in between that do neither move before or after the new call
(the generated code assigns every name once, so moving them keeps the order of every use).

Written for the agent to review, never judged by this command:
- `level_1_fusion/NAME.py`: a standalone file (KernelBench format) holding a copy of each
  kernel's class, so it runs on its own; its shapes come from one run of the parent step on the
  meta device (workflow/edit/probe.py), else from the kernels' headers;
- `steps/step_<d+1>_NAME_to_kernels/`: refactored.py calling the kernels, an identity weight map;
- the parent's refactored.py rewritten with libcst (one import and one `self.<attr>` for the
  fusion instead of the kernels') and its weight map re-prefixed (`bmm.w` -> `<attr>.bmm.w`);
then `sync.finish` rebuilds the tree, the headers and every copy, and names the stale steps.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from codegen.files import class_alias, docstring
from codegen.template import fill, snippet
from hdecomp_ir.errors import UserInputError
from hdecomp_ir.naming import component_name_problem, unique
from hdecomp_ir.spec import (ANALYSIS_MD, REFACTORED_FILE, STEPS_DIR, WEIGHT_MAP_JSON, Level)
from workflow.edit.files import (assigned_names, attr_base, called_attr, component_files, header_fields,
                                 header_shapes, header_weights, loaded_names, parse_refactored,
                                 sidecar)
from workflow.edit.log import append_entry
from workflow.edit.probe import probe
from workflow.edit.session import EditSession
from workflow.edit.sync import finish, step_hashes

# Names a forward() reads that are modules, not values (the template's imports).
_MODULE_NAMES = frozenset({"self", "torch", "nn", "F", "math"})
# What a component file has besides its class and helpers: the template's own parts.
_FILE_PARTS = frozenset({"get_inputs", "get_init_inputs", "get_expected_output_shape",
                         "run_tests", "ALLOW_INF", "Model"})
_STANDARD_IMPORTS = frozenset({"import torch", "import torch.nn as nn",
                               "import torch.nn.functional as F"})


def _bad(message: str, where: str, fix: str) -> UserInputError:
    return UserInputError(message, where=where, fix=fix)


# --- which children ---------------------------------------------------------------------------


def _resolve(tree: dict[str, Any], members: list[str], where: str) -> list[str]:
    """Node ids of the chosen children: a tree node id (`root.bmm`), else the name of a
    component that has exactly one instance."""
    nodes = {k: v for k, v in tree.get("nodes", {}).items() if isinstance(v, dict)}
    out: list[str] = []
    for member in members:
        if member in nodes:
            out.append(member)
            continue
        named = sorted(nid for nid, n in nodes.items() if n.get("name") == member)
        if len(named) == 1:
            out.append(named[0])
        elif named:
            raise _bad(f"{member} has {len(named)} instances ({', '.join(named[:4])})", where,
                       "name the one to merge by its tree node id")
        else:
            near = difflib.get_close_matches(member, list(nodes) + [n.get("name", "") for n in
                                                                    nodes.values()], n=3)
            raise _bad(f"no child {member!r} in the tree", where,
                       f"did you mean {', '.join(near)}?" if near else
                       "give tree node ids (decomposition_tree.json) or component names")
    if len(set(out)) != len(out):
        raise _bad("a child is named twice", where, "name each child once")
    if len(out) < 2:
        raise _bad("merge needs at least two children", where, "name two or more children")
    parents = {nid.rsplit(".", 1)[0] for nid in out if "." in nid}
    if len(parents) != 1 or any("." not in nid for nid in out):
        raise _bad("the children do not share one parent (" + ", ".join(out) + ")", where,
                   "merge children of one step: ids that differ only after the last dot")
    for nid in out:
        if nodes[nid].get("level") != Level.KERNEL.label:
            raise _bad(f"{nid} is a {nodes[nid].get('level')}, not a kernel", where,
                       "merge groups kernels into a fusion; merge the kernels inside it instead")
    return out


# --- the region of forward() ------------------------------------------------------------------


@dataclass
class Region:
    """The parent's forward() cut around the chosen calls."""

    statements: list[cst.BaseStatement]
    lo: int
    hi: int
    fused: list[int] = field(default_factory=list)   # statement indices, in order
    before: list[int] = field(default_factory=list)  # in [lo, hi], moved before the call
    after: list[int] = field(default_factory=list)   # in [lo, hi], moved after it
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # attr -> statement index


def plan_region(forward: cst.FunctionDef, attrs: list[str], where: str) -> Region:
    """Which statements of forward() the fusion takes, and its inputs and outputs."""
    body = list(forward.body.body)  # type: ignore[attr-defined]
    params = [p.name.value for p in forward.params.params if p.name.value != "self"]
    calls: dict[str, int] = {}
    for i, stmt in enumerate(body):
        attr = called_attr(stmt)
        if attr in attrs:
            if attr in calls:
                raise _bad(f"self.{attr} is called twice in forward()", where,
                           "merge children called once each")
            calls[attr] = i
    hidden = [a for a in attrs if a not in calls]
    if hidden:
        raise _bad(f"self.{hidden[0]} is not called as `y = self.{hidden[0]}(...)` at the top of "
                   "forward()", where, "merge children whose calls are plain statements of forward()")
    defined: dict[str, int] = {}
    for i, stmt in enumerate(body):
        for name in assigned_names(stmt):
            if name in defined or name in params:
                raise _bad(f"`{name}` is assigned twice in forward()", where,
                           "give each value its own name (as `hdecomp lower` writes them), "
                           "then merge")
            defined[name] = i
    lo, hi = min(calls.values()), max(calls.values())
    reads = {i: set(loaded_names(body[i])) for i in range(len(body))}
    writes = {i: set(assigned_names(body[i])) for i in range(len(body))}
    chosen = set(calls.values())
    depends: set[int] = set(chosen)  # reads, through the span, a chosen call's result
    for i in range(lo, hi + 1):
        if i not in chosen and reads[i] & {n for j in depends for n in writes[j]}:
            depends.add(i)
    feeds: set[int] = set(chosen)  # its result reaches a chosen call inside the span
    for i in range(hi, lo - 1, -1):
        if i not in chosen and writes[i] & {n for j in feeds if j > i for n in reads[j]}:
            feeds.add(i)
    fused = sorted(chosen | (depends & feeds))
    for i in fused:
        other = called_attr(body[i])
        if i not in chosen and other is not None:
            raise _bad(f"self.{other} runs between the chosen children and depends on them", where,
                       f"merge self.{other} too, or choose children next to each other")
        parent_reads = sorted(_self_reads(body[i]) - set(attrs))
        if parent_reads:
            raise _bad(f"the plumbing between the children reads self.{parent_reads[0]}", where,
                       "merge children whose plumbing uses values only")
    region = Region(body, lo, hi, fused, calls=calls)
    region.before = [i for i in range(lo, hi + 1) if i not in fused and i not in depends]
    region.after = [i for i in range(lo, hi + 1) if i not in fused and i in depends]
    local = set(params) | set(defined)
    made: set[str] = set()
    for i in fused:
        for name in loaded_names(body[i]):
            if name in local and name not in made and name not in region.inputs \
                    and name not in _MODULE_NAMES:
                region.inputs.append(name)
        made |= writes[i]
    later = {n for i in region.after + list(range(hi + 1, len(body))) for n in reads[i]}
    region.outputs = [n for i in fused for n in assigned_names(body[i]) if n in later]
    if not region.outputs:
        raise _bad("nothing after the chosen children reads their results", where,
                   "merge children whose results the parent uses")
    return region


def _self_reads(stmt: cst.CSTNode) -> set[str]:
    """Attributes of `self` a statement reads (`self.scale`)."""
    found: set[str] = set()

    class _Visitor(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:  # noqa: N802
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                found.add(node.attr.value)

    stmt.visit(_Visitor())
    return found


# --- the kernels' classes ---------------------------------------------------------------------


@dataclass
class KernelParts:
    """What a fusion file copies from one kernel file."""

    stem: str
    alias: str
    cls: cst.ClassDef
    lines: list[cst.BaseStatement]      # module-level imports and sidecar loads
    defs: list[cst.BaseStatement]       # module-level helpers (loop functions)
    inputs: list[cst.BaseExpression] | None
    allow_inf: bool
    operations: list[str]
    weights: list[str]                  # `Weight Shapes:` lines, as written
    has_sidecar: bool


def _top_name(stmt: cst.BaseStatement) -> str | None:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return stmt.name.value
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and \
            isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1 and \
            isinstance(stmt.body[0].targets[0].target, cst.Name):
        return stmt.body[0].targets[0].target.value
    return None


def kernel_parts(path: Path, stem: str, where: str) -> KernelParts:
    """Parse a kernel file into the parts a fusion copies."""
    text = path.read_text()
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        raise _bad("cannot parse", where=where, fix="fix the kernel file, then merge") from None
    alias = class_alias(stem)
    cls, lines, defs, inputs, allow_inf = None, [], [], None, False
    empty = cst.Module(body=[])
    for i, stmt in enumerate(module.body):
        name = _top_name(stmt)
        code = empty.code_for_node(stmt).strip()
        if i == 0 and isinstance(stmt, cst.SimpleStatementLine) and \
                isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.SimpleString):
            continue  # the header
        if code in _STANDARD_IMPORTS or (isinstance(stmt, cst.If) and "__name__" in code):
            continue
        if name == "Model" and isinstance(stmt, cst.ClassDef):
            cls = stmt.with_changes(name=cst.Name(alias), leading_lines=[cst.EmptyLine(),
                                                                          cst.EmptyLine()])
        elif name == "get_inputs" and isinstance(stmt, cst.FunctionDef):
            ret = stmt.body.body[-1] if stmt.body.body else None  # type: ignore[attr-defined]
            if isinstance(ret, cst.SimpleStatementLine) and isinstance(ret.body[0], cst.Return) \
                    and isinstance(ret.body[0].value, cst.List):
                inputs = [e.value for e in ret.body[0].value.elements]
        elif name == "ALLOW_INF":
            allow_inf = "True" in code
        elif name in _FILE_PARTS:
            continue
        elif isinstance(stmt, cst.SimpleStatementLine):
            lines.append(stmt.with_changes(leading_lines=[]))
        else:
            defs.append(stmt.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]))
    if cls is None:
        raise _bad("kernel file has no class `Model`", where=where, fix="restore the kernel file")
    ops_text = header_fields(text).get("Operations", "[]")
    operations = re.findall(r"'([^']*)'", ops_text)
    weights = _weight_lines(text)
    return KernelParts(stem, alias, cls, lines, defs, inputs, allow_inf, operations, weights,
                       sidecar(path).is_file())


def _weight_lines(text: str) -> list[str]:
    names = header_weights(text)
    out = []
    for line in text.splitlines():
        m = re.match(r"^\s*-\s*([^:]+):(.*)$", line)
        if m and m.group(1).strip() in names:
            out.append((m.group(1).strip(), m.group(2).strip()))
            names.remove(m.group(1).strip())
    return [f"{n}: {rest}" for n, rest in out]


# --- writing ------------------------------------------------------------------------------------


def _type_line(name: str, desc: dict[str, Any]) -> str:
    if "shape" in desc:
        return f"  - {name}: {desc['shape']} dtype=torch.{desc['dtype']}"
    return f"  - {name}: {desc.get('value', desc.get('type'))}"


def _random_input(desc: dict[str, Any]) -> cst.BaseExpression:
    if "shape" not in desc:
        return cst.parse_expression(repr(desc.get("value", 0)))
    shape = "(" + ", ".join(str(d) for d in desc["shape"]) + ("," if len(desc["shape"]) == 1 else "") + ")"
    dtype = desc["dtype"]
    if dtype == "bool":
        return cst.parse_expression(f"torch.randint(0, 2, {shape}).bool()")
    if dtype.startswith(("int", "uint")):
        return cst.parse_expression(f"torch.randint(0, 2, {shape}, dtype=torch.{dtype})")
    return cst.parse_expression(f"torch.randn({shape}, dtype=torch.{dtype})")


def _assign_or_return(targets: list[str], value: cst.BaseExpression) -> cst.SimpleStatementLine:
    target: cst.BaseAssignTargetExpression = cst.Name(targets[0]) if len(targets) == 1 else \
        cst.Tuple([cst.Element(cst.Name(t)) for t in targets], lpar=[], rpar=[])
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def _return(names: list[str]) -> cst.SimpleStatementLine:
    value: cst.BaseExpression = cst.Name(names[0]) if len(names) == 1 else \
        cst.Tuple([cst.Element(cst.Name(n)) for n in names])
    return cst.SimpleStatementLine([cst.Return(value)])


def _strip(stmts: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    return [s.with_changes(leading_lines=[]) for s in stmts]


@dataclass
class Fusion:
    """Everything the new fusion's files are made of."""

    name: str
    attr: str
    parent: str
    source: str
    region: Region
    members: list[tuple[str, str]]          # (attr, kernel stem), in call order
    kernels: dict[str, KernelParts]
    shapes: dict[str, Any] | None = None    # {inputs, outputs}: descriptions from the probe

    def forward_body(self) -> list[cst.BaseStatement]:
        body = [self.region.statements[i] for i in self.region.fused]
        return _strip(body) + [_return(self.region.outputs)]

    def params(self) -> list[cst.Param]:
        return [cst.Param(cst.Name(n)) for n in self.region.inputs]

    def child_lines(self) -> list[cst.BaseStatement]:
        return [s for attr, stem in self.members
                for s in snippet("child", __attr__=cst.Name(attr),
                                 __child_class__=cst.Name(self.kernels[stem].alias))]

    def inputs_expr(self, draft: bool = False) -> cst.List:
        """get_inputs(): a kernel's own expression where the input is its argument as it is
        (integer ranges, routings), else a random tensor at the probed shape."""
        exprs: list[cst.BaseExpression] = []
        for k, name in enumerate(self.region.inputs):
            expr = None
            for attr, stem in self.members:
                stmt = self.region.statements[self.region.calls[attr]]
                call = stmt.body[0].value  # type: ignore[attr-defined]
                args = [a.value for a in call.args if a.keyword is None and a.star == ""]
                own = self.kernels[stem].inputs
                for pos, arg in enumerate(args):
                    if isinstance(arg, cst.Name) and arg.value == name and own and pos < len(own):
                        expr = own[pos]
                        break
                if expr is not None:
                    break
            if expr is None and draft:
                expr = cst.parse_expression("torch.empty(0)")  # never called: the probe runs the parent
            if expr is None:
                desc = (self.shapes or {}).get("inputs", [{}] * (k + 1))[k]
                if not desc:
                    raise _bad(f"cannot tell the shape of `{name}`, an input of the new fusion",
                               where=self.name, fix="choose children whose inputs are their "
                               "own arguments, or make the parent step run on the meta device")
                expr = _random_input(desc)
            exprs.append(expr)
        return cst.List([cst.Element(e) for e in exprs])

    def header(self) -> cst.SimpleString:
        ins = (self.shapes or {}).get("inputs") or [{}] * len(self.region.inputs)
        outs = (self.shapes or {}).get("outputs") or [{}] * len(self.region.outputs)
        ops: list[str] = [op for _, stem in self.members for op in self.kernels[stem].operations]
        lines = [f"Component: {self.name}", f"Source: {self.source}",
                 f"Abstraction Level: {Level.FUSION.label}", f"Parent: {self.parent}",
                 f"Children: {sorted({stem for _, stem in self.members})}", "Instances: 1", "",
                 f"Operations: {ops}", "", "Input Shapes:"]
        lines += [_type_line(n, d) for n, d in zip(self.region.inputs, ins) if d]
        lines += ["", "Output Shapes:"]
        names = ["output"] if len(outs) == 1 else [f"output{i}" for i in range(len(outs))]
        lines += [_type_line(n, d) for n, d in zip(names, outs) if d]
        lines += ["", "Weight Shapes:"]
        lines += [f"  - {attr}.{w}" for attr, stem in self.members
                  for w in self.kernels[stem].weights]
        return docstring("\n" + "\n".join(lines) + "\n")

    def component_source(self, draft: bool = False) -> str:
        """level_1_fusion/<name>.py: standalone, the kernels' classes copied in. A draft (before
        the shapes are known) is only imported by the probe run of the parent."""
        lines: dict[str, cst.BaseStatement] = {}
        defs: dict[str, cst.BaseStatement] = {}
        empty = cst.Module(body=[])
        for stem in dict.fromkeys(s for _, s in self.members):
            parts = self.kernels[stem]
            for stmt in parts.lines:
                lines.setdefault(empty.code_for_node(stmt).strip(), stmt)
            for stmt in parts.defs + [parts.cls]:
                code, name = empty.code_for_node(stmt).strip(), _top_name(stmt) or ""
                clash = [c for c, s in defs.items() if _top_name(s) == name and c != code]
                if clash:
                    raise _bad(f"two kernels define `{name}` differently", where=self.name,
                               fix="merge kernels without clashing helpers")
                defs.setdefault(code, stmt)
        outs = (self.shapes or {}).get("outputs") or []
        shapes = cst.List([cst.Element(cst.parse_expression(
            "(" + ", ".join(str(d) for d in o["shape"]) + ("," if len(o["shape"]) == 1 else "")
            + ")")) for o in outs if "shape" in o])
        allow_inf = any(self.kernels[s].allow_inf for _, s in self.members)
        buffers = list(lines.values())
        if buffers:
            buffers[0] = buffers[0].with_changes(leading_lines=[cst.EmptyLine()])
        return fill("component", __header__=self.header(), __buffers__=buffers,
                    __functions__=list(defs.values()), __init_body__=self.child_lines(),
                    __params__=self.params(), __forward_body__=self.forward_body(),
                    __inputs__=self.inputs_expr(draft), __shapes__=shapes,
                    __allow_inf__=cst.Name(str(allow_inf)),
                    __run_tests__=list(fill("run_tests").body)).code

    def step_source(self, step: str) -> str:
        """steps/<step>/refactored.py: the fusion calling its kernels."""
        imports = [s for stem in sorted({s for _, s in self.members})
                   for s in snippet("child_import", __stem__=cst.Name(stem),
                                    __alias__=cst.Name(self.kernels[stem].alias))]
        text = f"Step {step}: {self.name} rewritten as calls of its {len(self.members)} " \
               "children plus data plumbing."
        return fill("refactored", __docstring__=docstring(text), __child_imports__=imports,
                    __init_body__=self.child_lines(), __params__=self.params(),
                    __forward_body__=self.forward_body(), __inputs__=self.inputs_expr()).code

    def weights(self) -> dict[str, str]:
        """The new step's weight map: the kernels keep their attributes, so names map to
        themselves."""
        return {f"{attr}.{w.split(':')[0]}": f"{attr}.{w.split(':')[0]}"
                for attr, stem in self.members for w in self.kernels[stem].weights}


def _rewrite_parent(ref_module: cst.Module, fusion: Fusion) -> cst.Module:
    """The parent's refactored.py calling the fusion instead of the merged kernels."""
    region, merged = fusion.region, {a for a, _ in fusion.members}
    alias = class_alias(fusion.name)
    call = cst.Call(cst.Attribute(cst.Name("self"), cst.Name(fusion.attr)),
                    [cst.Arg(cst.Name(n)) for n in region.inputs])
    body = region.statements
    forward = body[:region.lo] + [body[i] for i in region.before] + \
        [_assign_or_return(region.outputs, call)] + [body[i] for i in region.after] + \
        body[region.hi + 1:]

    class _Parent(cst.CSTTransformer):
        def leave_FunctionDef(self, original: cst.FunctionDef,  # noqa: N802
                              updated: cst.FunctionDef) -> cst.FunctionDef:
            if updated.name.value == "forward":
                return updated.with_changes(body=updated.body.with_changes(body=forward))
            if updated.name.value != "__init__":
                return updated
            kept: list[cst.BaseStatement] = []
            placed = False
            for stmt in updated.body.body:
                attr = _init_attr(stmt)
                if attr in merged:
                    if not placed:
                        kept += snippet("child", __attr__=cst.Name(fusion.attr),
                                        __child_class__=cst.Name(alias))
                        placed = True
                    continue
                kept.append(stmt)
            return updated.with_changes(body=updated.body.with_changes(body=kept))

    module = ref_module.visit(_Parent())
    instances = [_init_class(s) for stmt in module.body if isinstance(stmt, cst.ClassDef)
                 for item in stmt.body.body
                 if isinstance(item, cst.FunctionDef) and item.name.value == "__init__"
                 for s in item.body.body]
    still_used = {c for c in instances if c}
    new_import = snippet("child_import", __stem__=cst.Name(fusion.name), __alias__=cst.Name(alias))
    out: list[cst.BaseStatement] = []
    imports_done = False
    for stmt in module.body:
        imported = _child_import(stmt)
        if imported is not None:
            if not imports_done and imported[0] > fusion.name:
                out += new_import
                imports_done = True
            if imported[1] not in still_used:
                continue
            out.append(stmt)
            continue
        if not imports_done and out and _child_import(out[-1]) is not None:
            out += new_import
            imports_done = True
        out.append(stmt)
    if not imports_done:
        raise _bad("the parent's refactored.py has no child imports", where=fusion.parent,
                   fix="restore its `from <child> import Model as <Alias>` lines")
    n = len([c for c in instances if c])
    text = re.sub(r"calls of its \d+ children", f"calls of its {n} children",
                  module.with_changes(body=out).code, count=1)
    return cst.parse_module(text)


def _init_attr(stmt: cst.BaseStatement) -> str | None:
    if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign):
        target = stmt.body[0].targets[0].target
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and \
                target.value.value == "self":
            return target.attr.value
    return None


def _init_class(stmt: cst.BaseStatement) -> str | None:
    if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign) and \
            isinstance(stmt.body[0].value, cst.Call) and isinstance(stmt.body[0].value.func, cst.Name):
        return stmt.body[0].value.func.value
    return None


def _child_import(stmt: cst.BaseStatement) -> tuple[str, str] | None:
    """(stem, alias) of `from <stem> import Model as <alias>`."""
    if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.ImportFrom):
        imp = stmt.body[0]
        if isinstance(imp.module, cst.Name) and isinstance(imp.names, (list, tuple)) and \
                len(imp.names) == 1 and isinstance(imp.names[0].name, cst.Name) and \
                imp.names[0].name.value == "Model" and imp.names[0].asname is not None:
            return imp.module.value, imp.names[0].asname.name.value  # type: ignore[union-attr]
    return None


def _reprefix(wmap: Any, merged: set[str], attr: str) -> Any:
    def one(value: str) -> str:
        head = value.split(".", 1)[0]
        return f"{attr}.{value}" if head in merged else value
    return {k: [one(v) for v in vals] if isinstance(vals, list) else one(vals)
            for k, vals in wmap.items()}


def _fallback_shapes(fusion: Fusion, root: Path, files: dict[str, str]) -> dict[str, Any] | None:
    """Shapes from the kernels' headers: an input that is a chosen call's argument as it is, an
    output that a chosen call assigns. None when any is not."""
    region = fusion.region
    ins: dict[str, Any] = {}
    outs: dict[str, Any] = {}
    for attr, stem in fusion.members:
        text = (root / files[stem]).read_text()
        shapes, dtypes = header_shapes(text, "Input Shapes")
        oshapes, odtypes = header_shapes(text, "Output Shapes")
        stmt = region.statements[region.calls[attr]]
        call = stmt.body[0].value  # type: ignore[attr-defined]
        args = [a.value for a in call.args if a.keyword is None]
        for arg, (pname, shape) in zip(args, shapes.items()):
            if isinstance(arg, cst.Name):
                ins.setdefault(arg.value, {"shape": shape, "dtype": dtypes.get(pname, "float32")})
        for target, (oname, shape) in zip(assigned_names(stmt), oshapes.items()):
            outs[target] = {"shape": shape, "dtype": odtypes.get(oname, "float32")}
    if any(n not in ins for n in region.inputs) or any(n not in outs for n in region.outputs):
        return None
    return {"inputs": [ins[n] for n in region.inputs], "outputs": [outs[n] for n in region.outputs]}


def _joined_sidecars(paths: list[Path], where: str) -> bytes | None:
    """One sidecar for the fusion: the kernels' buffers by name (every kernel file loads its
    sidecar into the same module-level dict, so the copied classes read the union). Two kernels
    shipping different values under one name cannot share it."""
    if not paths:
        return None
    if len(paths) == 1:
        return sidecar(paths[0]).read_bytes()
    import io

    import torch

    joined: dict[str, Any] = {}
    for path in paths:
        tensors = torch.load(sidecar(path), weights_only=True)
        for name, value in tensors.items():
            if name in joined and not (joined[name].shape == value.shape and
                                       torch.equal(joined[name], value)):
                raise _bad(f"two kernels ship different buffers named {name!r}", where,
                           "merge kernels whose .buffers.pt files do not clash")
            joined[name] = value
    out = io.BytesIO()
    torch.save(dict(sorted(joined.items())), out)
    return out.getvalue()


def merge_children(out_dir: Path, members: list[str], name: str) -> list[str]:
    """Group kernels `members` of one step into the new fusion `name`; returns change lines."""
    with EditSession(out_dir) as session:
        root = session.path
        where = str(out_dir)
        problem = component_name_problem(name)
        if problem:
            raise _bad(f"invalid component name {name!r}: {problem}", where, "choose another name")
        files = component_files(root)
        if name in files:
            raise _bad(f"a component named {name!r} already exists ({files[name]})", where,
                       "choose another name")
        tree = session.tree()
        hashes = step_hashes(root)
        ids = _resolve(tree, members, where)
        nodes = tree["nodes"]
        parent_id = ids[0].rsplit(".", 1)[0]
        parent = nodes[parent_id]
        if parent.get("level") == Level.FUSION.label:
            raise _bad(f"{parent['name']} is already a fusion", where,
                       "merge kernels of a layer or model step")
        step = parent.get("step")
        if not step or not (root / STEPS_DIR / step / REFACTORED_FILE).is_file():
            raise _bad(f"{parent['name']} has no step folder", where, "run `hdecomp sync` first")
        step_dir = root / STEPS_DIR / step
        ref_where = f"{STEPS_DIR}/{step}/{REFACTORED_FILE}"
        ref = parse_refactored(step_dir / REFACTORED_FILE, ref_where)
        if ref.forward is None:
            raise _bad("RefactoredModel has no forward()", ref_where, "restore forward()")
        children = dict(ref.children())
        attrs = [nid.rsplit(".", 1)[1] for nid in ids]
        missing = [a for a in attrs if a not in children]
        if missing:
            raise _bad(f"self.{missing[0]} is not a child in {ref_where}", where,
                       "run `hdecomp sync` so that the tree matches the files")
        region = plan_region(ref.forward, attrs, ref_where)
        order = sorted(attrs, key=lambda a: region.calls[a])
        kernels = {children[a]: kernel_parts(root / files[children[a]], children[a],
                                             files[children[a]]) for a in order}
        buffers = _joined_sidecars([root / files[s] for s, k in kernels.items() if k.has_sidecar],
                                   where)
        used = {a for a, _ in ref.children()} - set(attrs)
        fusion = Fusion(name=name, attr=unique(attr_base(name), used), parent=parent["name"],
                        source=header_fields((root / parent["path"]).read_text()).get("Source", ""),
                        region=region, members=[(a, children[a]) for a in order], kernels=kernels)
        fusion_rel = f"{Level.FUSION.folder}/{name}.py"
        fusion_path = root / fusion_rel
        fusion_path.parent.mkdir(exist_ok=True)
        # The parent first, so that one meta run of it gives the fusion's exact shapes.
        fusion.shapes = _fallback_shapes(fusion, root, files)
        stub = step_dir / "children" / f"{name}.py"
        stub.write_text(fusion.component_source(draft=True))
        if buffers is not None:
            sidecar(stub).write_bytes(buffers)
        (step_dir / REFACTORED_FILE).write_text(_rewrite_parent(ref.module, fusion).code)
        probed = probe(step_dir / REFACTORED_FILE, fusion.attr)
        if probed is not None:
            fusion.shapes = probed
        if fusion.shapes is None:
            raise _bad("cannot tell the new fusion's shapes: the parent step does not run on the "
                       "meta device and the kernels' headers do not name them", where,
                       "choose children whose inputs are their own arguments")
        fusion_path.write_text(fusion.component_source())
        if buffers is not None:
            sidecar(fusion_path).write_bytes(buffers)
        session.note(f"added: {fusion_rel} ({', '.join(f'self.{a}' for a, _ in fusion.members)} "
                     f"of {parent['name']})")
        session.note(f"rewritten: {ref_where} (self.{fusion.attr} = {class_alias(name)}())")
        depth = re.match(r"step_(\d+)_", step)
        new_step = f"step_{int(depth.group(1)) + 1 if depth else 2}_{name}_to_kernels"
        new_dir = root / STEPS_DIR / new_step
        if new_dir.exists():
            raise _bad(f"step folder {new_step} already exists", where, "choose another name")
        (new_dir / "children").mkdir(parents=True)
        (new_dir / REFACTORED_FILE).write_text(fusion.step_source(new_step))
        (new_dir / WEIGHT_MAP_JSON).write_text(json.dumps(fusion.weights(), indent=2) + "\n")
        session.note(f"added: {STEPS_DIR}/{new_step}/ ({REFACTORED_FILE}, {WEIGHT_MAP_JSON})")
        wmap_path = step_dir / WEIGHT_MAP_JSON
        if wmap_path.is_file():
            wmap = json.loads(wmap_path.read_text())
            wmap_path.write_text(json.dumps(_reprefix(wmap, set(attrs), fusion.attr), indent=2)
                                 + "\n")
            session.note(f"weight map: {STEPS_DIR}/{step}/{WEIGHT_MAP_JSON}: "
                         f"{', '.join(attrs)}.* -> {fusion.attr}.*")
        analysis = root / ANALYSIS_MD
        if analysis.is_file():
            analysis.write_text(analysis.read_text().rstrip("\n") + "\n" +
                                f"- `{fusion_rel}`: fusion made by `hdecomp merge` of "
                                + ", ".join(f"`{stem}`" for _, stem in fusion.members)
                                + f" in `{parent['name']}`; review its cut.\n")
        finish(session, tree, hashes)
        append_entry(root, "merge", {"dir": str(out_dir), "children": ids, "as": name},
                     session.changes)
        session.commit()
        return session.changes

