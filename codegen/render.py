"""Rendering IR regions as Python: the op -> expression rule table and forward() bodies.

A forward body is rendered for a component with a set of *callees*: components called as child
modules (`self.child(x)`); every other node of the region is rendered inline. The same renderer
writes component files (no callees), refactored steps (the direct children) and the composition
test (all kernels), so the three always agree on the plumbing between calls.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import libcst as cst
import torch
from torch import fx
from torch.utils import _pytree as pytree

from codegen import loop_source, torch_calls
from hdecomp_ir.errors import UserInputError
from hdecomp_ir.ir import IR, Component, TensorType, value_type
from hdecomp_ir.naming import (call_module_path, identifier, is_default_state, is_state_move,
                                module_call_form, module_slots, recurrent_call, unique,
                                weight_names)
from hdecomp_ir.policy import op_name

Expr = cst.BaseExpression


def dotted(path: str) -> Expr:
    """`a.b.c` as an expression."""
    parts = path.split(".")
    expr: Expr = cst.Name(parts[0])
    for part in parts[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def call(func: Expr | str, args: list[Expr], kwargs: dict[str, Expr] | None = None) -> cst.Call:
    """A call expression."""
    f = dotted(func) if isinstance(func, str) else func
    cargs = [cst.Arg(value=a) for a in args]
    tight = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""))
    cargs += [cst.Arg(value=v, keyword=cst.Name(k), equal=tight)
              for k, v in (kwargs or {}).items()]
    return cst.Call(func=f, args=cargs)


@dataclass
class Scope:
    """Names visible while rendering one forward(): values, weights, and where tensors live."""

    values: dict[fx.Node, str] = field(default_factory=dict)
    same: dict[fx.Node, Any] = field(default_factory=dict)  # `alias` nodes: their input itself
    weights: dict[fx.Node, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    device_var: str | None = None
    where: str | None = None  # the op being rendered, for errors
    loops: dict[int, Any] = field(default_factory=dict)  # loop region id -> region (frontend/loops.py)

    def fresh(self, base: str) -> str:
        return unique(identifier(base), self.used)


def literal(value: Any, scope: Scope) -> Expr:
    """An argument value as an expression: node references, weights, lists, dtypes, numbers."""
    if isinstance(value, fx.Node):
        if value in scope.same:
            return literal(scope.same[value], scope)
        if value in scope.weights:
            return dotted(f"self.{scope.weights[value]}")
        return cst.Name(scope.values[value])
    if isinstance(value, (list, tuple)):
        elems = [cst.Element(literal(v, scope)) for v in value]
        return cst.List(elems) if isinstance(value, list) else cst.Tuple(elems)
    if isinstance(value, torch.dtype):
        return dotted(str(value))
    if isinstance(value, torch.device):
        # Tensors made inside forward() follow the inputs' device (the trace ran on meta).
        return dotted(f"{scope.device_var}.device") if scope.device_var else cst.SimpleString('"cpu"')
    if isinstance(value, torch.memory_format):
        return dotted(str(value))
    if isinstance(value, torch.layout):
        return dotted(str(value))
    if isinstance(value, float):
        if math.isinf(value):
            inf = call("float", [cst.SimpleString('"inf"')])
            return inf if value > 0 else cst.UnaryOperation(cst.Minus(), inf)
        if math.isnan(value):
            return call("float", [cst.SimpleString('"nan"')])
    if isinstance(value, (bool, int, float, str)) or value is None:
        return cst.parse_expression(repr(value))
    raise UserInputError(f"an argument of type {type(value).__name__} ({value!r}) has no Python "
                         "form in the generated files", where=scope.where,
                         fix="pass it as a tensor, a number or a list of them in the model")


# --- the rule table: op -> expression builder -------------------------------------------------

Builder = Callable[[fx.Node, Scope], Expr | None]

_BINOPS: dict[str, cst.BaseBinaryOp] = {"add": cst.Add(), "sub": cst.Subtract(),
                                        "mul": cst.Multiply(), "div": cst.Divide()}
_METHODS = {"view", "reshape", "permute", "transpose", "contiguous", "unsqueeze", "squeeze",
            "flatten", "expand"}


def _binop(node: fx.Node, scope: Scope) -> Expr | None:
    name = op_name(node.target)
    if node.kwargs or len(node.args) != 2:
        return None  # alpha=, rounding_mode=: written as the torch call
    return cst.BinaryOperation(left=literal(node.args[0], scope), operator=_BINOPS[name],
                               right=literal(node.args[1], scope))


def _method(node: fx.Node, scope: Scope) -> Expr | None:
    if node.kwargs or not node.args or not isinstance(node.args[0], fx.Node):
        return None
    name = op_name(node.target)
    return call(cst.Attribute(value=literal(node.args[0], scope), attr=cst.Name(name)),
                [literal(a, scope) for a in node.args[1:]])


def _getitem(node: fx.Node, scope: Scope) -> Expr | None:
    return cst.Subscript(value=literal(node.args[0], scope),
                         slice=[cst.SubscriptElement(cst.Index(literal(node.args[1], scope)))])


def _aten(node: fx.Node, scope: Scope) -> Expr:
    try:
        return torch_calls.render(node, lambda v: literal(v, scope))
    except torch_calls.NoTorchCall as err:
        raise UserInputError(f"the traced op {node.target} has no readable torch call for the "
                             f"generated files: {err}", where=scope.where,
                             fix="write that part of forward() with public torch or "
                                 "torch.nn.functional calls") from None


def _loop_call(node: fx.Node, scope: Scope) -> Expr:
    """`scan(x0, x1, D=x2, delta_softplus=True)`: the loop function's call (its definition is
    written beside the class, codegen/loop_source.py), as a 1-tuple when it returns one tensor
    so that the getitems of the traced op's list read it alike."""
    region = scope.loops[node.args[1]]
    args, single = loop_source.call_arguments(
        region, [literal(t, scope) for t in node.args[0]], lambda v: literal(v, scope))
    expr: Expr = cst.Call(func=cst.Name(region.name), args=args)
    return cst.Tuple([cst.Element(expr)]) if single else expr


def render_node(node: fx.Node, scope: Scope) -> Expr:
    """Expression computing one fx node: the rule table first, else the torch-level call of
    codegen/torch_calls.py (never `torch.ops`)."""
    if node.target is operator.getitem:
        return _getitem(node, scope)  # type: ignore[return-value]
    name = op_name(node.target)
    if name == "loop_region":
        return _loop_call(node, scope)
    overload = getattr(node.target, "_overloadname", "")
    expr: Expr | None = None
    if name in _BINOPS and overload in ("Tensor", "Scalar"):
        expr = _binop(node, scope)
    elif name in _METHODS and overload in ("default", "int", "dim", "using_ints"):
        expr = _method(node, scope)
    return expr if expr is not None else _aten(node, scope)


# --- forward bodies --------------------------------------------------------------------------

@dataclass
class Callee:
    """A component called as a child module from the rendered forward()."""

    comp: Component
    attr: str


def assign(targets: list[str], value: Expr) -> cst.SimpleStatementLine:
    """`a = value` or `a, b = value`."""
    if len(targets) == 1:
        target: cst.BaseAssignTargetExpression = cst.Name(targets[0])
    else:
        target = cst.Tuple([cst.Element(cst.Name(t)) for t in targets], lpar=[], rpar=[])
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def input_names(ir: IR, comp: Component) -> list[str]:
    """Parameter names of a component's forward(): the model's own for the root, else x, x0…"""
    if comp is ir.root:
        return [identifier(n) for n in ir.traced.user_inputs]
    ins = ir.inputs(comp)
    return ["x"] if len(ins) == 1 else [f"x{i}" for i in range(len(ins))]


def render_forward(ir: IR, comp: Component, callees: list[Callee],
                   inline_modules: bool = True) -> tuple[list[str], list[cst.BaseStatement]]:
    """(parameter names, body statements) of forward() for `comp` calling `callees`."""
    scope = Scope()
    params = input_names(ir, comp)
    scope.used.update(params)
    if comp is ir.root:
        placeholders = {n.name: n for n in ir.traced.graph.nodes if n.op == "placeholder"}
        inputs = [placeholders[n] for n in ir.traced.user_inputs]
    else:
        inputs = ir.inputs(comp)
    for node, name in zip(inputs, params):
        scope.values[node] = name
    scope.device_var = next((scope.values[n] for n in inputs
                             if isinstance(value_type(n), TensorType)), None)
    scope.weights = weight_names(ir, comp) if not callees else {}
    scope.loops = ir.traced.loops
    slots = module_slots(ir, comp) if not callees else {}

    starts = {c.comp.start: c for c in callees}
    covered: dict[int, Callee] = {}
    for c in callees:
        for i in range(c.comp.start, c.comp.end + 1):
            covered[i] = c
    module_kernels = {}
    if inline_modules and not callees:
        for k in ir.kernels(comp):
            if k is not comp and module_call_form(ir, k):
                module_kernels[k.start] = k
                for i in range(k.start, k.end + 1):
                    covered[i] = Callee(k, slots[call_module_path(ir, k)])  # type: ignore[index]
    if comp.is_kernel and not callees and module_call_form(ir, comp):
        module_kernels[comp.start] = comp
        for i in range(comp.start, comp.end + 1):
            covered[i] = Callee(comp, slots[call_module_path(ir, comp)])  # type: ignore[index]

    body: list[cst.BaseStatement] = []
    for i in range(comp.start, comp.end + 1):
        node = ir.ops[i]
        if i in covered:
            callee = starts.get(i) or (Callee(module_kernels[i], covered[i].attr)
                                       if i in module_kernels else None)
            if callee is None:
                continue
            if i in module_kernels and recurrent_call(ir, callee.comp) is not None:
                body.extend(_recurrent_statements(ir, callee, scope))
                continue
            args = [literal(n, scope) for n in ir.inputs(callee.comp)]
            outs = ir.outputs(callee.comp)
            names = [scope.fresh(_value_base(ir, n)) for n in outs]
            for n, name in zip(outs, names):
                scope.values[n] = name
            body.append(assign(names, call(f"self.{callee.attr}", args)))
            continue
        if torch_calls.is_dropped(node):
            continue
        source = torch_calls.passthrough(node)
        if source is not None:
            scope.same[node] = source
            continue
        name = scope.fresh(_value_base(ir, node))
        scope.values[node] = name
        scope.where = f"{ir.model_file.as_posix()}: op {node.name} of {comp.name}"
        body.append(assign([name], render_node(node, scope)))
    scope.where = f"{ir.model_file.as_posix()}: the return value of {comp.name}"
    body.append(cst.SimpleStatementLine([cst.Return(_return_value(ir, comp, scope))]))
    return params, body


def _recurrent_statements(ir: IR, callee: Callee, scope: Scope) -> list[cst.SimpleStatementLine]:
    """`output, h_n = self.gru(x, h0)` / `output, (h_n, c_n) = self.lstm(x, (h0, c0))` for a
    kernel that is one recurrent module call, after the moves of initial states the model keeps
    itself (`to = self.h0.to(...)`); the getitems of the flat aten result take the names of the
    module's result."""
    found = recurrent_call(ir, callee.comp)
    assert found is not None
    node, structure = found
    x, hx = node.args[0], node.args[1]
    states = list(hx) if isinstance(hx, (list, tuple)) else [hx]
    moves: list[cst.SimpleStatementLine] = []
    for state in states:
        if state in set(ir.region(callee.comp)) and is_state_move(ir, state):
            source = next(a for a in state.args if isinstance(a, fx.Node))
            # named after the tensor it moves (`h0 = self.h0.to(...)`), as the model names it
            name = scope.fresh(identifier((ir.weight_fqn(source) or "state").rsplit(".", 1)[-1]))
            scope.values[state] = name
            moves.append(assign([name], render_node(state, scope)))
    args = [literal(x, scope)]
    region = set(ir.region(callee.comp))
    # zeros made inside the kernel are the module's own default state; states that come in
    # (the parent's zeros, or the model's h0) are passed
    if not all(s in region and is_default_state(s) for s in states):
        state = [literal(s, scope) for s in states]
        args.append(state[0] if len(state) == 1 else cst.Tuple([cst.Element(e) for e in state]))
    items = {u.args[1]: u for u in node.users if u.target is operator.getitem}
    flat: list[str] = []

    def target(part: Any) -> cst.BaseExpression:
        if isinstance(part, tuple):
            return cst.Tuple([cst.Element(target(p)) for p in part])
        name = scope.fresh(part)
        if len(flat) in items:
            scope.values[items[len(flat)]] = name
        flat.append(name)
        return cst.Name(name)

    whole = target(structure)
    assert isinstance(whole, cst.Tuple)
    return moves + [cst.SimpleStatementLine([cst.Assign(
        [cst.AssignTarget(whole.with_changes(lpar=[], rpar=[]))],
        call(f"self.{callee.attr}", args))])]


def _value_base(ir: IR, node: fx.Node) -> str:
    return op_name(node.target).strip("_") or "v"


def _return_value(ir: IR, comp: Component, scope: Scope) -> Expr:
    if comp is ir.root:
        out = next(n for n in ir.traced.graph.nodes if n.op == "output")
        leaves, _ = pytree.tree_flatten(out.args[0])
        rebuilt = pytree.tree_unflatten(leaves, ir.traced.out_spec)
        return _structure(rebuilt, scope)
    outs = ir.outputs(comp)
    if len(outs) == 1:
        return literal(outs[0], scope)
    return cst.Tuple([cst.Element(literal(n, scope)) for n in outs])


def _structure(value: Any, scope: Scope) -> Expr:
    if isinstance(value, tuple):
        return cst.Tuple([cst.Element(_structure(v, scope)) for v in value])
    if isinstance(value, list):
        return cst.List([cst.Element(_structure(v, scope)) for v in value])
    if isinstance(value, dict):
        return cst.Dict([cst.DictElement(literal(k, scope), _structure(v, scope))
                         for k, v in value.items()])
    return literal(value, scope)
