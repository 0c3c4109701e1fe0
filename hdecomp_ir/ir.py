"""The hierarchical IR: a tree of Components over one traced fx graph.

Each component owns a contiguous range of the graph's op nodes (positions `start..end` in
`IR.ops`, execution order). Ranges of children nest inside their parent's and never overlap, so
every component is a convex region by construction: its inputs are produced before it starts and
its outputs are read only after it ends. Nodes of a component not covered by a child are its own
plumbing; a kernel owns its compute nodes.

Semantics (op, shapes, dtypes, level) are what the printer prints and what keys hash; provenance
(fx node names, module paths, source lines) is kept beside them for names and messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import fx

from hdecomp_ir.errors import IRInvariantError
from hdecomp_ir.policy import (OpInfo, OpKind, arith_is_compute, is_compute_in_parent, is_random_op,
                              op_info)
from hdecomp_ir.spec import Level, dtype_code
from hdecomp_ir.traced import TracedGraph


@dataclass(frozen=True)
class TensorType:
    """Shape and dtype of a value."""

    shape: tuple[int, ...]
    dtype: torch.dtype

    def __str__(self) -> str:
        return f"{dtype_code(self.dtype)}[{','.join(str(d) for d in self.shape)}]"


def value_type(node: fx.Node) -> TensorType | tuple[Any, ...] | None:
    """TensorType of a node's value (a tuple of them for multi-output nodes)."""
    val = node.meta.get("val")
    return _to_type(val)


def _to_type(val: Any) -> Any:
    if isinstance(val, torch.Tensor):
        return TensorType(tuple(int(d) for d in val.shape), val.dtype)
    if isinstance(val, (list, tuple)):
        return tuple(_to_type(v) for v in val)
    return None


def grouped_mm_rows(node: fx.Node) -> tuple[int, int] | None:
    """(rows, groups) when `node` is the offsets of a grouped matmul (the experts of a mixture
    of experts): random integers there are no routing at all, and leave rows unwritten."""
    for user in node.users:
        if user.op != "call_function" or user.target is not torch.ops.aten._grouped_mm.default:
            continue
        offs = user.args[2] if len(user.args) > 2 else user.kwargs.get("offs")
        rows, groups = value_type(user.args[0]), value_type(node)  # type: ignore[arg-type]
        if offs is node and isinstance(rows, TensorType) and isinstance(groups, TensorType) \
                and len(rows.shape) == 2 and len(groups.shape) == 1:
            return rows.shape[0], groups.shape[0]
    return None



@dataclass
class Component:
    """A node of the hierarchy: a kernel, fusion, layer or the model."""

    cid: str
    level: Level
    start: int
    end: int
    label: str
    origin: str                         # kernel-module, kernel-semantic, kernel-op, kernel-pattern, fusion, fusion-pattern, layer-module, layer-chunk, root
    children: list["Component"] = field(default_factory=list)
    module_path: str | None = None      # the nn.Module this component is (or wraps), if any
    module_class: str | None = None
    name: str = ""                      # file stem, set by assign_names
    key: str = ""                       # workload / structural key, set by dedup_workloads
    instances: int = 1
    notes: list[str] = field(default_factory=list)

    def walk(self) -> Iterator["Component"]:
        """Pre-order walk of this component and its descendants."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def is_kernel(self) -> bool:
        return self.level is Level.KERNEL

    def __repr__(self) -> str:
        return f"Component({self.cid}, {self.level.label}, {self.start}..{self.end})"


@dataclass
class IR:
    """The whole program: traced graph, op nodes in order, the component tree, decisions."""

    traced: TracedGraph
    model_file: Path
    class_name: str
    ops: list[fx.Node]
    root: Component
    pos: dict[fx.Node, int] = field(default_factory=dict)
    compute: set[fx.Node] = field(default_factory=set)
    weight_derived: set[fx.Node] = field(default_factory=set)   # plumbing on weights only
    # values built from no input and no weight (`arange`, `ones`, a causal mask made of them)
    constant_derived: set[fx.Node] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)       # decisions for decomposition_analysis.md
    unclassified: set[str] = field(default_factory=set)

    @property
    def model_name(self) -> str:
        return self.model_file.stem

    def reindex(self) -> None:
        """Recompute the op order and the op classes from the graph.

        Lifting calls it; so does a pass that rewrites the graph before any child exists.
        """
        if self.root.children:
            raise IRInvariantError("reindex() renumbers the ops, so it needs a root without children",
                                   where=str(self.model_file),
                                   fix="this is a bug in a pass: rewrite the graph before grouping")
        self.ops = [n for n in self.traced.graph.nodes if n.op == "call_function"]
        self.root.end = len(self.ops) - 1
        self.pos = {n: i for i, n in enumerate(self.ops)}
        self.compute, self.weight_derived, self.unclassified = set(), set(), set()
        self.constant_derived = set()
        for node in self.ops:
            info = op_info(node.target)
            if not info.classified:
                self.unclassified.add(info.name)
            args = node.all_input_nodes
            from_weights = [a for a in args if self.is_weight(a) or a in self.weight_derived]
            tensor_args = [a for a in args if isinstance(a.meta.get("val"), torch.Tensor)]
            if not is_random_op(node.target) and not from_weights and all(a in self.constant_derived for a in args):
                # The verifier's provenance rule: factory results and what is computed from them
                # alone (transformers' causal mask: arange, ge, and, cumsum) are constants, and
                # their construction is plumbing wherever it happens.
                self.constant_derived.add(node)
            if args and len(from_weights) == len(args) and \
                    any(u.op != "output" for u in node.users):
                # Plumbing on weights alone (a slice of a position table, `~mask[:t, :t]`)
                # prepares a weight for its consumer and goes into that consumer's kernel.
                self.weight_derived.add(node)
            elif is_compute_in_parent(info.kind, reads_weight=bool(from_weights), name=info.name,
                                      activations=self.activation_operands(node),
                                      constant_inputs=bool(tensor_args) and node in self.constant_derived):
                # An op that mixes an activation with a weight (bias add, learned scale, a mask
                # buffer in masked_fill) is compute: weights live in children, never in a parent.
                # So is a product of two activations (`q * k`, `x * cos`): the verifier's rule.
                self.compute.add(node)
        if not self.compute:
            # A model that is nothing but arithmetic (`a * b`): that arithmetic is its workload.
            self.compute.update(n for n in self.ops if op_info(n.target).kind is OpKind.ARITH
                                and arith_is_compute(reads_weight=False, sole_workload=True))

    def activation_operands(self, node: fx.Node) -> int:
        """How many of `node`'s operands are activations with at least one dimension (the
        `activations` of `policy.arith_is_compute`). Lowering counts every non-weight operand,
        constants included, which is stricter than the verifier: a product with a constant mask
        goes into a kernel."""
        count = 0
        operands: list[fx.Node] = []  # with repeats: `x * x` multiplies two activations
        fx.node.map_arg((node.args, node.kwargs), operands.append)
        for arg in operands:
            if self.is_weight(arg) or arg in self.weight_derived:
                continue
            val = arg.meta.get("val")
            if isinstance(val, torch.Tensor) and val.dim() == 0:
                continue
            if arg in self.constant_derived and isinstance(val, torch.Tensor) and \
                    val.dtype == torch.bool:
                continue  # a constant mask (the verifier's `_is_mask`, which sees values)
            count += 1
        return count

    # --- placeholders --------------------------------------------------------------------------
    def weight_fqn(self, node: fx.Node) -> str | None:
        """FQN of the parameter, buffer or constant a placeholder stands for (None otherwise)."""
        t = self.traced
        return (t.param_targets.get(node.name) or t.buffer_targets.get(node.name)
                or t.constant_targets.get(node.name))

    def user_input_value(self, node: fx.Node) -> Any:
        """The value get_inputs() gave for a user-input placeholder (None if not one)."""
        from torch.utils import _pytree as pytree

        leaves = pytree.tree_leaves(self.traced.input_values)
        if len(leaves) != len(self.traced.user_inputs) or node.name not in self.traced.user_inputs:
            return None
        return leaves[self.traced.user_inputs.index(node.name)]

    def weight_aliases(self, node: fx.Node) -> tuple[str, ...]:
        """Every FQN a weight placeholder's tensor has (tied weights have several), traced one first."""
        fqn = self.weight_fqn(node) or node.name
        return (fqn,) + tuple(a for a in self.traced.aliases.get(fqn, ()) if a != fqn)

    def is_weight(self, node: Any) -> bool:
        return is_weight_placeholder(self.traced, node)

    def is_param(self, node: Any) -> bool:
        return isinstance(node, fx.Node) and node.name in self.traced.param_targets

    # --- regions -------------------------------------------------------------------------------
    def region(self, comp: Component) -> list[fx.Node]:
        """Op nodes of a component, its children's included, in execution order."""
        return self.ops[comp.start:comp.end + 1]

    def direct_nodes(self, comp: Component) -> list[fx.Node]:
        """Op nodes of a component that no child owns (its plumbing; a kernel's compute)."""
        covered = set()
        for child in comp.children:
            covered.update(range(child.start, child.end + 1))
        return [self.ops[i] for i in range(comp.start, comp.end + 1) if i not in covered]

    def inputs(self, comp: Component) -> list[fx.Node]:
        """Activations a component reads from outside (user inputs or earlier ops), first-use order.

        The root reads the model's inputs in forward() order, used or not.
        """
        if comp is self.root:
            return [n for n in self.traced.graph.nodes
                    if n.op == "placeholder" and n.name in self.traced.user_inputs]
        inside = set(self.region(comp))
        seen: dict[fx.Node, None] = {}
        for node in self.region(comp):
            for arg in node.all_input_nodes:
                if arg not in inside and not self.is_weight(arg):
                    seen.setdefault(arg, None)
        return list(seen)

    def weights(self, comp: Component) -> list[fx.Node]:
        """Parameter, buffer and constant placeholders a component reads, first-use order."""
        seen: dict[fx.Node, None] = {}
        for node in self.region(comp):
            for arg in node.all_input_nodes:
                if self.is_weight(arg):
                    seen.setdefault(arg, None)
        return list(seen)

    def outputs(self, comp: Component) -> list[fx.Node]:
        """Values a component produces that are read after it (or returned by the model)."""
        inside = set(self.region(comp))
        outs = []
        for node in self.region(comp):
            if any(user not in inside for user in node.users):
                outs.append(node)
        if not outs:
            # Dead code the model still runs (a head whose result forward() drops): the
            # component returns its last unread value, so its call stays in the parent and the
            # compute is kept, as the original performs it.
            dead = [n for n in self.region(comp)
                    if not n.users and isinstance(n.meta.get("val"), torch.Tensor)]
            outs = dead[-1:]
        return outs

    def compute_nodes(self, comp: Component) -> list[fx.Node]:
        return [n for n in self.region(comp) if n in self.compute]

    def kernels(self, comp: Component | None = None) -> list[Component]:
        """Kernel leaves under a component (the root by default), in execution order."""
        return [c for c in (comp or self.root).walk() if c.is_kernel]

    def info(self, node: fx.Node) -> OpInfo:
        return op_info(node.target)

    def module_stack(self, node: fx.Node) -> list[tuple[str, str, str]]:
        """(call key, module path, class qualname) from the outermost module to the innermost."""
        stack = node.meta.get("nn_module_stack") or {}
        out = []
        for key, (path, cls) in stack.items():
            qual = cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"
            out.append((key, path, qual))
        return out


def snake_case(name: str) -> str:
    """`BasicBlock` -> `basic_block`, `MultiheadAttention` -> `multihead_attention`,
    `ViTModel` -> `vit_model`."""
    # A lone capital ending a word (ViT, DeiT) stays with it: no break before it when the next
    # word starts right after it.
    s = re.sub(r"(?<=[a-z0-9])([A-Z])(?![A-Z][a-z])", r"_\1", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    return s or "component"


def is_weight_placeholder(traced: TracedGraph, node: Any) -> bool:
    """Whether `node` is a placeholder for a parameter, buffer or constant (not a user input)."""
    return isinstance(node, fx.Node) and node.op == "placeholder" and \
        node.name not in traced.user_inputs


def lift(traced: TracedGraph, model_file: Path, class_name: str) -> IR:
    """Lift a traced graph into an IR whose root owns every op node (no children yet)."""
    root = Component(cid="root", level=Level.MODEL, start=0, end=-1,
                     label=class_name, origin="root", module_path="",
                     module_class=class_name)
    ir = IR(traced=traced, model_file=Path(model_file), class_name=class_name, ops=[], root=root)
    ir.reindex()
    return ir
