"""form_kernels: make every compute op, or every semantic unit, one kernel.

Needs: a lifted IR whose root owns all op nodes and has no children, weight chains sunk.
Guarantees: every compute node is owned by exactly one kernel child of the root; plumbing nodes
stay with the root; kernels are contiguous ranges.

Rules:
- A call of a torch.nn builtin leaf module (nn.Linear, nn.Conv2d, nn.LSTM …: no submodules)
  is one semantic kernel, however many aten ops it lowers to. A builtin that computes nothing
  (nn.Flatten, nn.Dropout, nn.Identity) is plumbing.
- A custom module without submodules whose class is named after one function (RMSNorm,
  tanh-GELU, SiLU, RoPE …: `is_semantic_class_name`, a naming preference) is one semantic
  kernel when its ops compute one function of the policy's table (`semantic_function`: the
  ops it may use and its op budget), the rule the verifier applies to the kernel file, which
  it judges by its ops alone. Otherwise it is split op by op.
- A model without submodules whose whole forward computes one function of that table (an
  RMSNorm or a hinge loss written inline, F.normalize) is one kernel: KernelBench's level 1 is
  one op per problem, and the model class is that op.
- Any other compute op is a kernel of its own.
- `getitem` nodes that unpack a kernel's multi-output op belong to that kernel.
"""

from __future__ import annotations

import torch
from torch import fx
from torch.utils import _pytree as pytree

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.policy import counts_as_op, is_anchor, is_builtin_leaf, is_semantic_class_name, \
    is_semantic_module, op_token, semantic_function, semantic_is_one_op
from hdecomp_ir.spec import Level

# Containers are structure, not computation.
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}

Call = tuple[str, str, str]  # (call key, module path, class qualname) of one module call


def _module_call(ir: IR, node: fx.Node) -> tuple[Call, bool] | None:
    """The outermost module call on a node's stack that may be one kernel, if any:
    (call, is a builtin leaf). A semantic candidate still has to pass `_within_budget`."""
    model = ir.traced.model
    if model is None:
        return None
    for key, path, qual in ir.module_stack(node):
        cls_name = qual.rsplit(".", 1)[-1]
        if not path or cls_name in _CONTAINERS:
            continue
        try:
            mod = model.get_submodule(path)
        except AttributeError:
            continue
        if is_builtin_leaf(mod):
            return (key, path, qual), True
        if is_semantic_module(qual, has_submodules=any(True for _ in mod.children())) and \
                is_semantic_class_name(cls_name):
            return (key, path, qual), False
    return None


# The group key of a root that is one kernel: no module call has it.
_ROOT_KEY = "model:"


def _root_call(ir: IR) -> tuple[Call, str] | None:
    """The root model as one kernel call and the function it computes, when it has no
    submodules and its several ops compute one function (`semantic_function` over all its ops;
    a single op is a kernel by the per-op rule already)."""
    model = ir.traced.model
    if model is None or any(True for _ in model.children()):
        return None
    tokens, anchors = _logical_ops(ir, None)
    function = semantic_function(tokens, anchors) if len(tokens) > 1 else None
    if function is None:
        return None
    cls = type(model)
    return (_ROOT_KEY, "", f"{cls.__module__}.{cls.__qualname__}"), function


def _within_budget(ir: IR, key: str) -> bool:
    """Whether a semantic module call counts as one op by the rule the verifier applies to the
    kernel file made of it (`semantic_is_one_op` on its ops)."""
    return semantic_is_one_op(*_logical_ops(ir, key))


def _logical_ops(ir: IR, key: str | None) -> tuple[list[str], int]:
    """The op tokens and anchor count of a module call (`key`; None: the whole model)."""
    return logical_ops(ir, [n for n in ir.ops
                            if key is None or key in (n.meta.get("nn_module_stack") or {})])


def logical_ops(ir: IR, nodes: list[fx.Node]) -> tuple[list[str], int]:
    """The op tokens (`op_token`) and anchor count of a run of nodes, counting them the way the
    verifier counts calls in the kernel file made of them. Weight operands are counted whether
    parameter or buffer: where the two differ this counts more, never fewer."""
    tokens: list[str] = []
    anchors = 0
    for node in nodes:
        if node in ir.weight_derived and not is_anchor(ir.info(node)):
            continue  # values computed from weights alone are no op of their own, but a
            # matmul between weights is (the verifier counts it: merged linear layers)
        operands = [a for a in pytree.tree_leaves((node.args, node.kwargs)) if isinstance(a, fx.Node)]
        reads_weight = any(ir.is_weight(a) or a in ir.weight_derived for a in operands)
        tensors = sum(1 for a in operands
                      if isinstance(a.meta.get("val"), torch.Tensor) and a.meta["val"].dim() > 0)
        is_view = isinstance(node.target, torch._ops.OpOverload) and node.target.is_view
        info = ir.info(node)
        if counts_as_op(info.kind, reads_weight=reads_weight, tensor_operands=tensors,
                        is_view=is_view):
            tokens.append(op_token(info.name, reads_weight=reads_weight))
            anchors += int(is_anchor(info))
    return tokens, anchors


def _semantic_call(ir: IR, node: fx.Node, budget: dict[str, bool],
                   root: Call | None = None) -> Call | None:
    """The module call a node's op belongs to as one kernel: the root when it is one kernel
    (`root`), a builtin leaf, or a semantic module within the op budget (`budget` caches the
    verdict per call)."""
    if root is not None:
        return root
    found = _module_call(ir, node)
    if found is None:
        return None
    call, builtin = found
    if not builtin:
        if call[0] not in budget:
            budget[call[0]] = _within_budget(ir, call[0])
        if not budget[call[0]]:
            return None
    return call


def form_kernels(ir: IR) -> IR:
    """Create the kernel children of the root."""
    groups: dict[str, list[int]] = {}
    meta: dict[str, Call] = {}
    order: list[str] = []
    budget: dict[str, bool] = {}
    found_root = _root_call(ir)
    root, function = found_root if found_root is not None else (None, "")
    for i, node in enumerate(ir.ops):
        # A value computed from weights alone goes with the kernel that consumes it, even when
        # a builtin computed it: BERT's token-type embedding of a constant index buffer is a
        # weight of the add that uses it, and a kernel of its own would have no activation input.
        # A constant (positions, masks) is plumbing wherever it is built, inside a builtin too.
        call = None if node in ir.weight_derived or node in ir.constant_derived \
            else _semantic_call(ir, node, budget, root)
        if call is not None:
            key = call[0]
        elif node in ir.compute:
            key = f"op:{node.name}"
        elif node in ir.weight_derived:
            key, call = _consumer_key(ir, node, budget, root)
            if key is None:
                continue
        else:
            continue
        if key not in groups:
            groups[key] = []
            order.append(key)
            if call is not None:
                meta[key] = call
        groups[key].append(i)

    kernels: list[Component] = []
    for key in order:
        idx = groups[key]
        nodes = [ir.ops[i] for i in idx]
        if not any(n in ir.compute for n in nodes):
            continue  # a builtin that only moves data (Flatten, Dropout in eval): plumbing
        start, end = min(idx), max(idx)
        end = _absorb_getitems(ir, start, end)
        if key in meta:
            _, path, qual = meta[key]
            # a root kernel is named by the function it computes, not by the class `Model`
            cls_name = function if key == _ROOT_KEY else qual.rsplit(".", 1)[-1]
            origin = "kernel-module" if qual.startswith("torch.nn.") else "kernel-semantic"
            comp = Component(cid=f"k{len(kernels)}", level=Level.KERNEL, start=start, end=end,
                             label=cls_name, origin=origin, module_path=path, module_class=qual)
        else:
            node = next(n for n in nodes if n in ir.compute)
            comp = Component(cid=f"k{len(kernels)}", level=Level.KERNEL, start=start, end=end,
                             label=ir.info(node).name, origin="kernel-op")
        kernels.append(comp)
    ir.root.children = kernels
    return ir


def _consumer_key(ir: IR, node: fx.Node, budget: dict[str, bool],
                  root: Call | None) -> tuple[str | None, Call | None]:
    """Group key of the kernel that consumes a weight-derived value (its first compute user),
    and that kernel's module call when it is one."""
    frontier = list(node.users)
    seen: set[fx.Node] = set()
    while frontier:
        user = min(frontier, key=lambda n: ir.pos.get(n, 1 << 30))
        frontier.remove(user)
        if user in seen or user not in ir.pos:
            continue
        seen.add(user)
        if user in ir.weight_derived:
            frontier.extend(user.users)
            continue
        call = _semantic_call(ir, user, budget, root)
        if call is not None:
            return call[0], call
        if user in ir.compute:
            return f"op:{user.name}", None
        frontier.extend(user.users)
    return None, None


def _absorb_getitems(ir: IR, start: int, end: int) -> int:
    inside = set(ir.ops[start:end + 1])
    while end + 1 < len(ir.ops):
        nxt = ir.ops[end + 1]
        if nxt.target.__name__ == "getitem" if hasattr(nxt.target, "__name__") else False:
            if nxt.args and nxt.args[0] in inside:
                end += 1
                inside.add(nxt)
                continue
        break
    return end
