"""The textual IR: complete, deterministic, readable. Tests compare it with golden files.

`print_ir` goes IR -> `textual.Document` -> text, so what is printed is exactly what
`textual.parse` reads back. Everything printed is a function of the model file's contents: fx
node names, shapes, module paths; never memory addresses, absolute paths or source lines (those
move with the checkout and with torch's own sources).
"""

from __future__ import annotations

import operator
import re
from typing import Any

import torch
from torch import fx
from torch.utils import _pytree as pytree

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.policy import op_name
from hdecomp_ir.spec import dtype_code
from hdecomp_ir.textual import (Atom, Call, ComponentDoc, DictLit, Document, Header, InputDoc,
                                Kwarg, OpDoc, Operand, Ref, ScalarT, TensorT, TupleT, Type,
                                WeightDoc, format_component, format_document, format_type)

# The loader imports a model file as `hdecomp_model_<stem>_<hash of its absolute path>`; the
# hash would make the dump depend on where the checkout lives.
_LOADED_MODULE = re.compile(r"\bhdecomp_model_(\w+?)_[0-9a-f]{10}\b")


def _type_of_value(val: Any) -> Type:
    if isinstance(val, torch.Tensor):
        dims: list[int | str] = []
        for d in val.shape:
            try:
                dims.append(int(d))
            except (TypeError, ValueError, RuntimeError):
                dims.append(re.sub(r"\W", "_", str(d)))  # a symbolic size keeps its name
        return TensorT(dtype_code(val.dtype), tuple(dims))
    if isinstance(val, (list, tuple)):
        return TupleT(tuple(_type_of_value(v) for v in val))
    if isinstance(val, (bool, torch.SymBool)):
        return ScalarT("bool")
    if isinstance(val, (int, torch.SymInt)):
        return ScalarT("int")
    if isinstance(val, (float, torch.SymFloat)):
        return ScalarT("float")
    if val is None:
        return ScalarT("none")
    return ScalarT("?")


def node_type(node: fx.Node) -> Type:
    """The printed type of a node's value (`?` when tracing recorded none)."""
    if "val" not in node.meta:
        return ScalarT("?")
    return _type_of_value(node.meta["val"])


def target_name(target: Any) -> str:
    """The full name of an op: `aten.linear.default`, `getitem`, `operator.add`."""
    if target is operator.getitem:
        return "getitem"
    if isinstance(target, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return str(target)
    if isinstance(target, torch._ops.HigherOrderOperator):
        return f"higher_order.{target.name()}"
    module = getattr(target, "__module__", None)
    qual = getattr(target, "__qualname__", None)
    if module and qual:
        return f"{module.lstrip('_')}.{qual}" if module != "builtins" else qual
    return op_name(target)


def operand(value: Any) -> Operand:
    """An fx argument as a document operand: nodes become references, constants stay values."""
    if isinstance(value, fx.Node):
        return Ref(value.name)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (torch.dtype, torch.layout, torch.memory_format)):
        return Atom(str(value))
    if isinstance(value, torch.device):
        return Call("device", (str(value),))
    if isinstance(value, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return Call("sym", (str(value),))
    if isinstance(value, list):
        return [operand(v) for v in value]
    if isinstance(value, tuple):
        return tuple(operand(v) for v in value)
    if isinstance(value, dict):
        return DictLit(tuple((operand(k), operand(v)) for k, v in value.items()))
    if isinstance(value, slice):
        return Call("slice", (operand(value.start), operand(value.stop), operand(value.step)))
    if value is Ellipsis:
        return Atom("Ellipsis")
    if isinstance(value, complex):
        return Call("complex", (value.real, value.imag))
    if isinstance(value, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return Atom(str(value))
    if isinstance(value, torch.Tensor):
        return Call("tensor", (format_type(_type_of_value(value)),))
    # Anything else is named by its type only: a repr could hold a memory address.
    return Call("opaque", (type(value).__qualname__,))


def _role(ir: IR, node: fx.Node) -> str:
    if node in ir.compute:
        return "compute"
    if node in ir.weight_derived:
        return "weight"
    return "plumbing"


def _module(ir: IR, node: fx.Node) -> str | None:
    stack = ir.module_stack(node)
    return (stack[-1][1] or None) if stack else None


def display_class(qual: str | None) -> str | None:
    """A module class's qualified name as printed: `tiny_transformer.Block`, whatever the
    loader named the model's module (its name carries a hash of the checkout path)."""
    return _LOADED_MODULE.sub(r"\1", qual) if qual is not None else None


def _typed(nodes: list[fx.Node]) -> list[tuple[str, Type]]:
    return [(n.name, node_type(n)) for n in nodes]


def _owned(ir: IR, comp: Component) -> list[str]:
    """`ir.direct_nodes` by name, clamped to the op list: the IR verifier prints broken IRs too."""
    covered = {i for child in comp.children for i in range(child.start, child.end + 1)}
    return [ir.ops[i].name for i in range(max(comp.start, 0), min(comp.end, len(ir.ops) - 1) + 1)
            if i not in covered]


def component_doc(ir: IR, comp: Component) -> ComponentDoc:
    """One component and its subtree as a document."""
    return ComponentDoc(
        level=comp.level.label, cid=comp.cid, label=comp.label, start=comp.start, end=comp.end,
        origin=comp.origin, module_path=comp.module_path,
        module_class=display_class(comp.module_class), name=comp.name, key=comp.key,
        instances=comp.instances, inputs=_typed(ir.inputs(comp)), outputs=_typed(ir.outputs(comp)),
        owns=_owned(ir, comp), notes=list(comp.notes),
        children=[component_doc(ir, child) for child in comp.children])


def _weights(ir: IR) -> list[WeightDoc]:
    """Weight placeholders (and get_attr constants) in first-use order, unused ones last."""
    t = ir.traced
    candidates = [n for n in t.graph.nodes if ir.is_weight(n) or n.op == "get_attr"]
    wanted = set(candidates)
    order: dict[fx.Node, None] = {}
    for node in ir.ops:
        for arg in node.all_input_nodes:
            if arg in wanted:
                order.setdefault(arg, None)
    for node in candidates:
        order.setdefault(node, None)
    out = []
    for node in order:
        if node.op == "get_attr":
            out.append(WeightDoc(node.name, node_type(node), "attr", str(node.target)))
            continue
        if node.name in t.param_targets:
            kind, fqn = "param", t.param_targets[node.name]
        elif node.name in t.buffer_targets:
            kind, fqn = "buffer", t.buffer_targets[node.name]
        elif node.name in t.constant_targets:
            kind, fqn = "constant", t.constant_targets[node.name]
        else:
            kind, fqn = "unknown", node.name
        aliases = sorted(set(t.aliases.get(fqn, ())) - {fqn})
        persistent = kind != "buffer" or t.persistent.get(fqn, True)
        out.append(WeightDoc(node.name, node_type(node), kind, fqn, aliases, persistent))
    return out


def _output(ir: IR) -> Operand:
    """The returned values in forward()'s structure (a flat tuple when it cannot be rebuilt)."""
    out = next((n for n in ir.traced.graph.nodes if n.op == "output"), None)
    if out is None:
        return None
    leaves = [operand(v) for v in pytree.tree_leaves(out.args[0])]
    spec = ir.traced.out_spec
    if isinstance(spec, pytree.TreeSpec):
        try:
            return _structure(pytree.tree_unflatten(leaves, spec))
        except (TypeError, ValueError, RuntimeError):
            pass  # a custom output class: its structure is not the IR's business
    return leaves[0] if len(leaves) == 1 and spec is None else tuple(leaves)


def _structure(value: Any) -> Operand:
    if isinstance(value, (Ref, Atom, Call, DictLit)) or value is None or \
            isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_structure(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_structure(v) for v in value)
    if isinstance(value, dict):
        return DictLit(tuple((operand(k), _structure(v)) for k, v in value.items()))
    raise TypeError(f"output structure {type(value).__name__}")


def document(ir: IR) -> Document:
    """The IR as a textual document (what `print_ir` prints)."""
    t = ir.traced
    ops = []
    for i, node in enumerate(ir.ops):
        operands: list[Operand | Kwarg] = [operand(a) for a in node.args]
        operands += [Kwarg(k, operand(v)) for k, v in node.kwargs.items()]
        ops.append(OpDoc(index=i, name=node.name, type=node_type(node),
                         target=target_name(node.target), operands=operands,
                         op_class=ir.info(node).kind.value, role=_role(ir, node),
                         module=_module(ir, node)))
    roles = [op.role for op in ops]
    header = Header(model=ir.model_name, file=ir.model_file.name, class_name=ir.class_name,
                    frontend=t.frontend, specialized=list(t.specialized),
                    unclassified=sorted(ir.unclassified), notes=list(ir.notes),
                    op_count=len(ops), compute_count=roles.count("compute"),
                    weight_count=roles.count("weight"), plumbing_count=roles.count("plumbing"))
    by_name = {n.name: n for n in t.graph.nodes if n.op == "placeholder"}
    inputs = [InputDoc(name, node_type(by_name[name]) if name in by_name else ScalarT("?"))
              for name in t.user_inputs]
    return Document(header=header, inputs=inputs, weights=_weights(ir), ops=ops,
                    root=component_doc(ir, ir.root), output=_output(ir))


def print_component(ir: IR, comp: Component, depth: int = 0) -> list[str]:
    """Lines for one component and its subtree (the IR verifier quotes them on a fault)."""
    return format_component(component_doc(ir, comp), depth)


def print_ir(ir: IR) -> str:
    """The whole IR as text."""
    return format_document(document(ir))
