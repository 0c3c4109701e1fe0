"""Builders of the generated Python files: component files, refactored steps, composition test.

Each file is a template of codegen/templates/ filled through libcst (codegen/template.py); the
renderer supplies the forward() bodies, and no code is glued together as source text.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from typing import Any

import libcst as cst
import torch
from torch import fx, nn

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.ir import IR, Component, TensorType, grouped_mm_rows, value_type
from hdecomp_ir.naming import identifier, kernel_op_label, module_prefix, module_repr, \
    module_slots, unique, weight_names
from hdecomp_ir.policy import POSITIVE_DOMAIN_NAMES, SIGN_PRESERVING_NAMES, OpKind, op_info
from hdecomp_ir.spec import BASE_SEED, COMPOSITION_ATOL, COMPOSITION_RTOL
from hdecomp_ir.traced import flat_outputs
from codegen.loop_source import LoopSourceError, specialised_source
from codegen.render import Callee, call, dotted, render_forward
from codegen.template import fill, snippet


def class_alias(stem: str) -> str:
    """`linear_768x3072_fp32` -> `Linear768x3072Fp32` (the name a refactored file imports)."""
    return "".join(p[:1].upper() + p[1:] for p in stem.split("_") if p) or "Child"


# --- inputs ----------------------------------------------------------------------------------

def int_high(ir: IR, node: fx.Node) -> int:
    """Exclusive upper bound for random integer inputs: the table an index feeds, else 2."""
    frontier, seen = list(node.users), set()
    while frontier:
        user = frontier.pop(0)
        if user in seen or user.op != "call_function":
            continue
        seen.add(user)
        name = getattr(user.target, "__name__", "")
        if name.startswith("embedding") and len(user.args) > 1 and user.args[1] is node:
            t = value_type(user.args[0])  # type: ignore[arg-type]
            if isinstance(t, TensorType):
                return t.shape[0]
        if name.startswith(("index.", "index_put")) and len(user.args) > 1 \
                and isinstance(user.args[1], (list, tuple)) and node in user.args[1]:
            t = value_type(user.args[0])  # type: ignore[arg-type]
            if isinstance(t, TensorType) and user.args[1].index(node) < len(t.shape):
                return t.shape[user.args[1].index(node)]  # an index into that dimension
        if name.startswith("histc") and len(user.args) > 3 and user.args[3] >= 1:
            return int(user.args[3]) + 1  # counts of ids 0..max (experts of a routing)
        if ("nll_loss" in name or "cross_entropy" in name) and len(user.args) > 1:
            t = value_type(user.args[0])  # type: ignore[arg-type]
            if isinstance(t, TensorType) and len(t.shape) > 1:
                return t.shape[1]
        frontier.extend(user.users)
    return 2


def sort_order_dim(node: fx.Node) -> int | None:
    """The dimension along which `node` is the permutation a sort or argsort returned."""
    src = node
    if src.op == "call_function" and src.target is operator.getitem and src.args[1] == 1:
        src = src.args[0]  # type: ignore[assignment]
        name = getattr(src.target, "__name__", "")
        if not name.startswith("sort."):
            return None
    elif not getattr(src.target, "__name__", "").startswith("argsort."):
        return None
    t = value_type(node)
    if not isinstance(t, TensorType) or not t.shape:
        return None
    dim = src.args[1] if len(src.args) > 1 and isinstance(src.args[1], int) else \
        src.kwargs.get("dim", -1)
    return dim % len(t.shape)


def balanced_counts(rows: int, groups: int) -> list[int]:
    """Rows per group of a balanced routing: rows // groups each, the first rows % groups one
    more (the fallback when no routing was recorded)."""
    return [rows // groups + (1 if i < rows % groups else 0) for i in range(groups)]


def balanced_offsets(rows: int, groups: int, dtype: cst.BaseExpression) -> cst.BaseExpression:
    """Cumulative row counts of a balanced routing (`balanced_counts`), written as
    `arange * n` when the split is even."""
    if rows % groups == 0:
        return cst.BinaryOperation(
            call("torch.arange", [cst.Integer("1"), cst.Integer(str(groups + 1))], {"dtype": dtype}),
            cst.Multiply(), cst.Integer(str(rows // groups)))
    ends = [sum(balanced_counts(rows, groups)[:i + 1]) for i in range(groups)]
    return call("torch.tensor", [cst.List([cst.Element(cst.Integer(str(e))) for e in ends])],
                {"dtype": dtype})


def input_expr(ir: IR, node: fx.Node) -> cst.BaseExpression:
    """Expression creating a random input like `node`'s value at its exact shape and dtype."""
    t = value_type(node)
    if not isinstance(t, TensorType):
        value = ir.user_input_value(node)
        if isinstance(value, (bool, int, float)) and repr(value) not in ("inf", "-inf", "nan"):
            return cst.parse_expression(repr(value))  # a number get_inputs() passes as it is
        raise UserInputError(f"input {node.name} of get_inputs() is a {type(value).__name__}, "
                             "which the generated files cannot rebuild",
                             where=ir.model_file.as_posix(),
                             fix="get_inputs() may return tensors and finite numbers only")
    shape = cst.Tuple([cst.Element(cst.Integer(str(d))) for d in t.shape]) if t.shape else \
        cst.Tuple([])
    dtype = dotted(str(t.dtype))
    if t.dtype == torch.bool:
        return call(cst.Attribute(call("torch.randint", [cst.Integer("0"), cst.Integer("2"), shape]),
                                  cst.Name("bool")), [])
    if not t.dtype.is_floating_point and not t.dtype.is_complex:
        groups = grouped_mm_rows(node)
        if groups is not None:
            recorded = ir.traced.routings.get(node.name)
            if recorded is not None and recorded.offsets is not None:
                # the counts of the routing the front end recorded (frontend/routing.py)
                return call("torch.tensor", [cst.List([cst.Element(cst.Integer(str(v)))
                                                       for v in recorded.offsets])],
                            {"dtype": dtype})
            return balanced_offsets(*groups, dtype)
        order = sort_order_dim(node)
        if order is not None:
            # the indices of a sort are a permutation; index_put through random integers would
            # leave rows of an empty_like unwritten (and read them as indices)
            return call(cst.Attribute(call("torch.rand", [shape]), cst.Name("argsort")), [],
                        {"dim": cst.Integer(str(order))} if order != len(t.shape) - 1 else {})
        high = cst.Integer(str(int_high(ir, node)))
        return call("torch.randint", [cst.Integer("0"), high, shape], {"dtype": dtype})
    if feeds_positive_domain(node):
        # away from 0 as well: log(0) is -inf, and a million draws of rand() do hit 0
        return cst.BinaryOperation(call("torch.rand", [shape], {"dtype": dtype}), cst.Add(),
                                   cst.Float("0.01"))
    return call("torch.randn", [shape], {"dtype": dtype})


def _integer_exponent(node: fx.Node) -> int | None:
    """The exponent of `pow(x, n)` when it is a whole number (`x ** 2`, `pow(x, 3.0)`)."""
    exponent = node.args[1] if len(node.args) > 1 else node.kwargs.get("exponent")
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool) and \
            float(exponent).is_integer():
        return int(exponent)
    return None


def _non_negative(node: fx.Node) -> bool:
    """A value that is never negative whatever its input's sign: `x * x`, an even power, abs."""
    name = op_info(node.target).name
    if name in ("square", "abs"):
        return True
    if name == "mul" and len(node.args) == 2 and node.args[0] is node.args[1]:
        return True
    exponent = _integer_exponent(node) if name == "pow" else None
    return exponent is not None and exponent % 2 == 0


def feeds_positive_domain(node: fx.Node) -> bool:
    """Does a value reach a positive-only op (log, sqrt …) through plumbing and sign-preserving
    reductions alone? A square on the way (RMSNorm's `x.pow(2).mean()`) ends the path: the
    op is defined for every sign of the input, and its self-test feeds signed values."""
    frontier, seen = list(node.users), set()
    while frontier:
        user = frontier.pop()
        if user in seen or user.op != "call_function":
            continue
        seen.add(user)
        info = op_info(user.target)
        if _non_negative(user):
            continue
        if info.name == "pow" and _integer_exponent(user) is not None:
            frontier.extend(user.users)  # an odd power keeps the sign: follow it
            continue
        if info.name in POSITIVE_DOMAIN_NAMES:
            return True
        if info.kind is not OpKind.COMPUTE or info.name in SIGN_PRESERVING_NAMES:
            frontier.extend(user.users)
    return False


def returned_tensors(ir: IR, comp: Component) -> list[fx.Node]:
    """The tensors a component's forward() returns, in return order (the model's own structure,
    flattened, for the root; its outputs for the others)."""
    if comp is not ir.root:
        return ir.outputs(comp)
    return [v for v in flat_outputs(ir.traced)
            if isinstance(v, fx.Node) and isinstance(value_type(v), TensorType)]


def _shapes_expr(nodes: list[fx.Node]) -> cst.BaseExpression:
    elems = []
    for n in nodes:
        t = value_type(n)
        shape = t.shape if isinstance(t, TensorType) else ()
        elems.append(cst.Element(cst.Tuple([cst.Element(cst.Integer(str(d))) for d in shape])
                                 if shape else cst.Tuple([])))
    return cst.List(elems)


# --- header ----------------------------------------------------------------------------------

def _type_line(name: str, t: Any) -> str:
    if isinstance(t, TensorType):
        return f"  - {name}: {list(t.shape)} dtype={t.dtype}"
    return f"  - {name}: {t}"


def docstring(text: str) -> cst.SimpleString:
    """A triple-quoted string literal holding `text` as it is (a docstring's node)."""
    # Escaped only where needed, so that no backslash or quote in a name or path can end or
    # change the literal and ordinary text reads as it is.
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    return cst.SimpleString('"""' + body + '"""')


def string(text: str) -> cst.SimpleString:
    """A double-quoted string literal of `text`."""
    return cst.SimpleString(json.dumps(text))


def _op_title(ir: IR, node: fx.Node) -> str:
    """An op's name in a header: a loop region by the function that loops."""
    name = ir.info(node).name
    return ir.traced.loops[node.args[1]].name if name == "loop_region" else name


def header(ir: IR, comp: Component, *, parent: str, children: list[str],
           params: list[str]) -> cst.SimpleString:
    """The specification's header docstring of a component file."""
    ops = [_op_title(ir, n) for n in ir.compute_nodes(comp)] if comp.is_kernel else \
        [kernel_op_label(ir, k) for k in ir.kernels(comp)]
    lines = [f"Component: {comp.name}", f"Source: {ir.model_file.as_posix()}",
             f"Abstraction Level: {comp.level.label}", f"Parent: {parent}",
             f"Children: {children}", f"Instances: {comp.instances}", "",
             f"Operations: {ops}", "", "Input Shapes:"]
    ins = ir.inputs(comp)
    # The root file keeps the user's forward(), whose inputs the traced placeholders name.
    names = params if comp is not ir.root else [n.name for n in ins]
    lines += [_type_line(p, value_type(n)) for p, n in zip(names, ins)]
    lines += ["", "Output Shapes:"]
    outs = ir.outputs(comp)
    lines += [_type_line("output" if len(outs) == 1 else f"output{i}", value_type(n))
              for i, n in enumerate(outs)]
    lines += ["", "Weight Shapes:"]
    for node, name in weight_names(ir, comp).items():
        lines.append(_type_line(name, value_type(node)))
    return docstring("\n" + "\n".join(lines) + "\n")


# --- component files -------------------------------------------------------------------------

def _significant(value: float) -> float:
    return float(f"{value:.2g}")


# Builtins rebuilt on the CPU to read their init's spread: small enough to cost nothing.
_INIT_PROBE_MAX_ELEMENTS = 1 << 24


def _builtin_init_tensor(ir: IR, fqn: str) -> torch.Tensor | None:
    """The tensor `fqn` as its owning torch.nn builtin initialises it, rebuilt on the CPU under
    the spec's seed (lowering holds the model on meta, without values); None when the owner is
    not a builtin that rebuilds from its repr, or is too large to rebuild in passing."""
    if "." not in fqn or ir.traced.model is None:
        return None
    owner, local = fqn.rsplit(".", 1)
    cache: dict[str, nn.Module | None] = ir.__dict__.setdefault("_init_probe_cache", {})
    if owner not in cache:
        cache[owner] = None
        source = module_repr(ir, owner)
        try:
            meta_owner = ir.traced.model.get_submodule(owner)
        except AttributeError:
            source = None
        if source is not None and sum(p.numel() for p in meta_owner.parameters()) <= \
                _INIT_PROBE_MAX_ELEMENTS:
            with torch.random.fork_rng(devices=[]), torch.device("cpu"):
                torch.manual_seed(BASE_SEED)
                cache[owner] = eval(source, {"nn": nn})  # torch's own repr of a builtin
    module = cache[owner]
    value = getattr(module, local, None) if module is not None else None
    return value if isinstance(value, torch.Tensor) else None


def _random_like_init(ir: IR, fqn: str, shape: cst.BaseExpression,
                      dtype: cst.BaseExpression) -> cst.BaseExpression:
    """Random values at the spread the model's own init gives the tensor (two significant
    digits), where a torch.nn builtin owns it; plain `torch.randn` otherwise.

    A standalone file's weights set the workload's value ranges: unit-variance weights saturate
    a recurrent kernel (nn.GRU's flattened weights at std 1 make its output chaotic, so two runs
    differing by one rounding disagree by 2.0) where nn.GRU's own init (std 1/sqrt(3 hidden))
    does not.
    """
    randn = call("torch.randn", [shape], {"dtype": dtype})
    tensor = _builtin_init_tensor(ir, fqn)
    if tensor is None or tensor.numel() < 2 or not tensor.is_floating_point():
        return randn
    values = tensor.detach().to(torch.float64)
    mean, std = _significant(float(values.mean())), _significant(float(values.std()))
    if std == 0.0:
        return call("torch.full", [shape, cst.Float(repr(mean))], {"dtype": dtype})
    if abs(mean) < 0.1 * std:
        mean = 0.0
    if std == 1.0 and mean == 0.0:
        return randn
    value: cst.BaseExpression = cst.BinaryOperation(randn, cst.Multiply(), cst.Float(repr(std)))
    if mean:
        value = cst.BinaryOperation(value, cst.Add() if mean > 0 else cst.Subtract(),
                                    cst.Float(repr(abs(mean))))
    return value


def _weight_init(ir: IR, node: fx.Node, name: str,
                 buffers: dict[str, torch.Tensor]) -> list[cst.BaseStatement]:
    t = value_type(node)
    assert isinstance(t, TensorType)
    shape = cst.Tuple([cst.Element(cst.Integer(str(d))) for d in t.shape])
    dtype = dotted(str(t.dtype))
    fqn = ir.weight_fqn(node) or node.name
    if fqn in buffers:
        # Buffers hold values the model computed at construction (masks, rotary tables): they
        # come from the sidecar file written beside this one.
        # A clone per instance: instances sharing one tensor would alias each other's weights.
        value = call(cst.Attribute(cst.Subscript(cst.Name("_BUFFERS"), [cst.SubscriptElement(
            cst.Index(string(name)))]), cst.Name("clone")), [])
    elif t.dtype.is_floating_point:
        value = _random_like_init(ir, fqn, shape, dtype)
    else:
        value = call("torch.zeros", [shape], {"dtype": dtype})
    if ir.is_param(node):
        return snippet("parameter", __weight__=cst.Name(name), __value__=value)
    persistent = ir.traced.persistent.get(fqn, True)
    return snippet("buffer", __weight__=string(name), __value__=value,
                   __persistent__=cst.Name(str(persistent)))


def sidecar_buffers(ir: IR, comp: Component,
                    buffers: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Local name -> value of the computed buffers a component file loads from its sidecar."""
    out = {}
    for node, name in weight_names(ir, comp).items():
        fqn = ir.weight_fqn(node) or ""
        if "." not in name and fqn in buffers:
            out[name] = buffers[fqn]
    return out


def component_module(ir: IR, comp: Component, *, parent: str,
                     buffers: dict[str, torch.Tensor]) -> str:
    """Source of a standalone component file (the specification's component format)."""
    params, body = render_forward(ir, comp, callees=[])
    init: list[cst.BaseStatement] = []
    for path, slot in module_slots(ir, comp).items():
        rebuilt = module_repr(ir, path)
        assert rebuilt is not None  # module_slots keeps only builtins whose repr rebuilds them
        # torch's own repr of the builtin (`nn.Linear(...)`), checked to rebuild the same module
        init += snippet("builtin_module", __slot__=cst.Name(slot),
                        __module__=cst.parse_expression(rebuilt))
    uses_sidecar = False
    for node, name in weight_names(ir, comp).items():
        if "." in name:
            continue
        uses_sidecar = uses_sidecar or (ir.weight_fqn(node) or "") in buffers
        init += _weight_init(ir, node, name, buffers)
    children = [c.name for c in comp.children]
    module = fill(
        "component",
        __header__=header(ir, comp, parent=parent, children=children, params=params),
        __buffers__=snippet("load_buffers") if uses_sidecar else [],
        __functions__=loop_functions(ir, comp),
        __init_body__=init, __params__=_parameters(params), __forward_body__=body,
        __inputs__=_inputs_expr(ir, comp), __shapes__=_shapes_expr(returned_tensors(ir, comp)),
        __allow_inf__=cst.Name(str(allows_inf(ir, comp, buffers))),
        __run_tests__=list(fill("run_tests").body))
    return module.code


def loop_functions(ir: IR, comp: Component) -> list[cst.BaseStatement]:
    """The definitions of the loop functions a component's forward() calls, with the imports
    they need beyond the file's own (codegen/loop_source.py)."""
    seen: dict[str, cst.BaseStatement] = {}
    imports: set[str] = set()
    for node in ir.region(comp):
        if node.op != "call_function" or getattr(node.target, "_opname", "") != "loop_region":
            continue
        region = ir.traced.loops[node.args[1]]
        if region.name in seen:
            continue
        try:
            source, needed = specialised_source(region.func, region.executed)
        except LoopSourceError as err:
            raise UserInputError(f"the loop in {region.name}() cannot be written in a component "
                                 f"file: {err}", where=f"{ir.model_file.as_posix()}: {comp.name}",
                                 fix="write the loop with torch calls only") from None
        two_blank = [cst.EmptyLine(), cst.EmptyLine()]
        seen[region.name] = cst.parse_statement(source).with_changes(leading_lines=two_blank)
        imports.update(needed)
    extra = [cst.parse_statement(line) for line in sorted(imports - _FILE_IMPORTS)]
    return extra + list(seen.values())


# What every component file imports already (templates/component.py).
_FILE_IMPORTS = {"import torch", "import torch.nn as nn", "import torch.nn.functional as F"}


def root_module(ir: IR, source: str, buffers: dict[str, torch.Tensor]) -> str:
    """The root's component file: the user's model unchanged, with the format's header and tests."""
    try:
        user = cst.parse_module(source.rstrip() + "\n")
    except cst.ParserSyntaxError as err:
        raise UserInputError(f"libcst cannot parse the model file ({err.message})",
                             where=ir.model_file.as_posix(),
                             fix="keep the model file to the Python syntax libcst reads") from None
    user = _pin_layout(user)
    code = list(user.body)
    # one blank line between our header and the user's file, whose leading comments follow it
    code[0] = code[0].with_changes(leading_lines=[cst.EmptyLine(), *user.header,
                                                  *code[0].leading_lines])
    alias = snippet("model_alias", __model_class__=cst.Name(ir.class_name)) \
        if ir.class_name != "Model" else []
    if alias:
        alias[0] = alias[0].with_changes(leading_lines=[cst.EmptyLine()])
    tail = list(fill("root", __model_alias__=alias,
                     __shapes__=_shapes_expr(returned_tensors(ir, ir.root)),
                     __allow_inf__=cst.Name(str(allows_inf(ir, ir.root, buffers))),
                     __run_tests__=list(fill("run_tests").body)).body)
    # The user's trailing comments stay right after their code, above what we add.
    tail[0] = tail[0].with_changes(leading_lines=[*user.footer, *tail[0].leading_lines])
    head = cst.SimpleStatementLine([cst.Expr(header(
        ir, ir.root, parent="root", children=[c.name for c in ir.root.children], params=[]))])
    return cst.Module(body=[head, *code, *tail]).code


class _PinLayout(cst.CSTTransformer):
    """Give every block and line ending of a module its own indent and newline explicitly."""

    def __init__(self, indent: str, newline: str) -> None:
        self.indent, self.newline = indent, newline

    def leave_IndentedBlock(self, original: cst.IndentedBlock,  # noqa: N802
                            updated: cst.IndentedBlock) -> cst.IndentedBlock:
        return updated.with_changes(indent=self.indent) if updated.indent is None else updated

    def leave_Newline(self, original: cst.Newline, updated: cst.Newline) -> cst.Newline:  # noqa: N802
        return updated.with_changes(value=self.newline) if updated.value is None else updated


def _pin_layout(user: cst.Module) -> cst.Module:
    """The user's module rendering as before inside a module of 4-space indents and \\n lines
    (the templates' layout): a file indented by 2 or ending lines in \\r\\n keeps its own."""
    if user.default_indent == "    " and user.default_newline == "\n":
        return user
    return user.visit(_PinLayout(user.default_indent, user.default_newline))


def allows_inf(ir: IR, comp: Component, buffers: dict[str, torch.Tensor] | None = None) -> bool:
    """Can a component correctly return infinities: masked_fill(-inf), or an added mask buffer
    that holds -inf (a causal mask stored as 0/-inf)?"""
    for node in ir.weights(comp):
        value = (buffers or {}).get(ir.weight_fqn(node) or "")
        if value is not None and value.is_floating_point() and bool(torch.isinf(value).any()):
            return True
    frontier = list(ir.outputs(comp))
    seen: set[fx.Node] = set()
    while frontier:
        node = frontier.pop()
        if node in seen or node.op != "call_function":
            continue
        seen.add(node)
        if ir.info(node).name in ("masked_fill", "fill", "full") and any(
                isinstance(a, float) and math.isinf(a) for a in node.args):
            return True
        if node not in ir.compute or ir.info(node).name == "masked_fill":
            frontier.extend(node.all_input_nodes)
    return False


def _parameters(names: list[str]) -> list[cst.Param]:
    return [cst.Param(cst.Name(n)) for n in names]


def _inputs_expr(ir: IR, comp: Component) -> cst.BaseExpression:
    if comp is ir.root:
        placeholders = {n.name: n for n in ir.traced.graph.nodes if n.op == "placeholder"}
        nodes = [placeholders[n] for n in ir.traced.user_inputs]
    else:
        nodes = ir.inputs(comp)
    return cst.List([cst.Element(input_expr(ir, n)) for n in nodes])


# --- refactored steps and the composition test -----------------------------------------------

@dataclass
class ChildRef:
    """One child instance in a refactored parent: its attribute and its class import."""

    comp: Component
    attr: str
    alias: str


def child_refs(ir: IR, parent: Component, children: list[Component]) -> list[ChildRef]:
    """Attribute names for child instances: their module path relative to the parent, else op."""
    prefix = module_prefix(ir, parent)
    refs, used = [], set()
    for child in children:
        path = child.module_path or ""
        if path and (not prefix or path.startswith(prefix + ".")):
            base = identifier(path[len(prefix) + 1:] if prefix else path)
        elif child.is_kernel:
            base = kernel_op_label(ir, child)
        else:
            base = identifier(child.label.replace("+", "_").lower())
        attr = unique(base, used)
        refs.append(ChildRef(child, attr, class_alias(child.name)))
    return refs


def weight_map(ir: IR, parent: Component, refs: list[ChildRef]) -> dict[str, Any]:
    """Parent weight name -> child weight name(s); a list where one weight feeds several."""
    parent_names = ({n: ir.weight_fqn(n) or n.name for n in ir.weights(parent)}
                    if parent is ir.root else weight_names(ir, parent))
    out: dict[str, Any] = {}
    for ref in refs:
        for node, local in weight_names(ir, ref.comp).items():
            src = parent_names[node]
            dst = f"{ref.attr}.{local}"
            if src in out:
                prev = out[src]
                out[src] = (prev if isinstance(prev, list) else [prev]) + [dst]
            else:
                out[src] = dst
    return dict(sorted(out.items()))


def _child_parts(ir: IR, parent: Component,
                 refs: list[ChildRef]) -> tuple[list[cst.BaseStatement], dict[str, Any]]:
    """The child imports, and the placeholders of a class calling its children (instances,
    forward()), which refactored.py and composition_test.py share."""
    params, body = render_forward(ir, parent, [Callee(r.comp, r.attr) for r in refs])
    imports = [stmt for stem, alias in sorted({(r.comp.name, r.alias) for r in refs})
               for stmt in snippet("child_import", __stem__=cst.Name(stem),
                                   __alias__=cst.Name(alias))]
    init = [stmt for r in refs for stmt in snippet("child", __attr__=cst.Name(r.attr),
                                                    __child_class__=cst.Name(r.alias))]
    return imports, {"__init_body__": init, "__params__": _parameters(params),
                     "__forward_body__": body}


def refactored_module(ir: IR, parent: Component, refs: list[ChildRef], *, step: str) -> str:
    """Source of steps/<step>/refactored.py: the parent calling only its children."""
    imports, parts = _child_parts(ir, parent, refs)
    text = f"Step {step}: {parent.name} rewritten as calls of its {len(refs)} children plus " \
           "data plumbing."
    return fill("refactored", __docstring__=docstring(text), __child_imports__=imports,
                __inputs__=_inputs_expr(ir, parent), **parts).code


def composition_module(ir: IR, refs: list[ChildRef], *, original_rel: str, kernel_dir: str,
                       wmap: dict[str, Any]) -> str:
    """Source of verification/composition_test.py: the model rebuilt from L0 kernels only.

    Weight transfer and comparison are not written into it: it imports hdecomp's own
    (tensors.collect.copy_mapped, tensors.compare.compare), with the composition tolerances.
    """
    imports, parts = _child_parts(ir, ir.root, refs)
    return fill("composition_test", __kernel_dir__=string(kernel_dir),
                __kernel_imports__=imports, __original__=string(original_rel),
                __weight_map__=_weight_map_expr(wmap),
                __rtol__=cst.Float(repr(COMPOSITION_RTOL)),
                __atol__=cst.Float(repr(COMPOSITION_ATOL)), __seed__=cst.Integer(str(BASE_SEED)),
                **parts).code


def _weight_map_expr(wmap: dict[str, Any]) -> cst.BaseExpression:
    """The weight map as a dict display, one entry a line with a trailing comma (as black)."""
    if not wmap:
        return cst.Dict([])
    line = cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace("    "))
    last = cst.ParenthesizedWhitespace(indent=True)
    elements = []
    for i, (src, dst) in enumerate(wmap.items()):
        value: cst.BaseExpression = cst.List([cst.Element(string(d)) for d in dst]) \
            if isinstance(dst, list) else string(dst)
        elements.append(cst.DictElement(string(src), value, comma=cst.Comma(
            whitespace_after=last if i == len(wmap) - 1 else line)))
    return cst.Dict(elements, lbrace=cst.LeftCurlyBrace(whitespace_after=line))
