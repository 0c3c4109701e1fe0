"""form_kernels: make every compute op, or every semantic unit, one kernel.

Needs: a lifted IR whose root owns all op nodes and has no children, weight chains sunk.
Guarantees: every compute node is owned by exactly one kernel child of the root; plumbing nodes
stay with the root; kernels are contiguous ranges.

Rules:
- A call of a torch.nn builtin leaf module (nn.Linear, nn.Conv2d, nn.LSTM …: no submodules)
  is one semantic kernel, however many aten ops it lowers to. A builtin that computes nothing
  (nn.Flatten, nn.Dropout, nn.Identity) is plumbing.
- A small custom module without submodules that computes one named function (RMSNorm,
  tanh-GELU, SiLU, RoPE …) is one semantic kernel.
- Any other compute op is a kernel of its own.
- `getitem` nodes that unpack a kernel's multi-output op belong to that kernel.
"""

from __future__ import annotations

import re

from torch import fx

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.policy import is_builtin_leaf
from hdecomp_ir.spec import Level

# Containers are structure, not computation.
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}

# Custom modules whose class name says they compute one named function.
SEMANTIC_KERNEL_NAMES = re.compile(
    r"(rms_?norm|layer_?norm|group_?norm|l2_?norm|scale_?norm|gelu|silu|swish|mish|"
    r"quick_?gelu|hard_?swish|rotary|rope|softmax|softplus|sigmoid|relu|tanh|activation)",
    re.IGNORECASE)
SEMANTIC_MAX_OPS = 12


def _semantic_call(ir: IR, node: fx.Node) -> tuple[str, str, str] | None:
    """The outermost module call on a node's stack that is one semantic kernel, if any."""
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
            return key, path, qual
        if SEMANTIC_KERNEL_NAMES.search(cls_name) and not qual.startswith("torch.nn.") \
                and not any(True for _ in mod.children()):
            return key, path, qual
    return None


def form_kernels(ir: IR) -> IR:
    """Create the kernel children of the root."""
    groups: dict[str, list[int]] = {}
    meta: dict[str, tuple[str, str, str]] = {}
    order: list[str] = []
    for i, node in enumerate(ir.ops):
        call = _semantic_call(ir, node)
        if call is not None:
            key = call[0]
        elif node in ir.compute:
            key = f"op:{node.name}"
        elif node in ir.weight_derived:
            key = _consumer_key(ir, node)
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
            cls_name = qual.rsplit(".", 1)[-1]
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


def _consumer_key(ir: IR, node: fx.Node) -> str | None:
    """Group key of the kernel that consumes a weight-derived value (its first compute user)."""
    frontier = list(node.users)
    seen: set[fx.Node] = set()
    while frontier:
        user = min(frontier, key=lambda n: ir.pos.get(n, 1 << 30))
        frontier.remove(user)
        if user in seen or user not in ir.pos:
            continue
        seen.add(user)
        call = _semantic_call(ir, user)
        if call is not None:
            return call[0]
        if user in ir.compute:
            return f"op:{user.name}"
        frontier.extend(user.users)
    return None


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
