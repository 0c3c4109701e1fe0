"""Rewrites of an exported graph into public aten ops that run where verification runs.

Two things come out of `torch.export` that the rest of hdecomp cannot use as they are:

- library ops that stand for an aten op. transformers 5 runs its mixture-of-experts matmuls
  through `transformers::grouped_mm_fallback` whenever it is being compiled or exported in a dtype
  other than bf16 (its own docstring: a fallback for `grouped_mm`). It is a grouped matmul over
  the rows each expert owns, so it becomes `aten._grouped_mm`, written `F.grouped_mm`. The two
  differ only on rows past the last offset, which the fallback zeroes and grouped_mm leaves
  unwritten; routing without expert parallelism gives every row to an expert, so there are none.
- ops traced on the meta device in a form the CPU lacks. Models pick a form by
  `x.device.type`: transformers' experts feed `histc` integers except on CPU, where histc
  takes floats only. The meta device is neither, so the graph holds the CUDA form; the CPU form
  (the same counts from a float copy) is written instead, which is exact for counts below 2**24.

Each rewrite keeps the node's meta (shape, dtype, provenance), so the IR sees one op like any other.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import fx

# Qualified name of a library op -> (the aten overload it stands for, a check that the call's
# arguments are the ones the rewrite understands).
_AS_ATEN: dict[str, tuple[Callable[[], object], Callable[[fx.Node], bool]]] = {
    "transformers::grouped_mm_fallback": (
        lambda: torch.ops.aten._grouped_mm.default,
        lambda node: len(node.args) == 3 and not node.kwargs,
    ),
}


def normalize(graph: fx.Graph) -> list[str]:
    """Apply every rewrite in place; return one line per kind of rewrite done (for the analysis)."""
    notes: list[str] = []
    done = _library_ops_as_aten(graph)
    if done:
        notes.append(f"{done}× transformers::grouped_mm_fallback written as F.grouped_mm "
                     "(the same grouped matmul)")
    done = _integer_histc_on_cpu(graph)
    if done:
        notes.append(f"{done}× histc of integers (the form traced off the CPU) computed on a "
                     "float copy, the form the model takes on CPU")
    if notes:
        graph.lint()
    return notes


def _library_ops_as_aten(graph: fx.Graph) -> int:
    count = 0
    for node in graph.nodes:
        if node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload):
            continue
        known = _AS_ATEN.get(node.target._schema.name)
        if known is None or not known[1](node):
            continue
        node.target = known[0]()
        count += 1
    return count


def _integer_histc_on_cpu(graph: fx.Graph) -> int:
    count = 0
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target is not torch.ops.aten.histc.default:
            continue
        source = node.args[0]
        val = source.meta.get("val") if isinstance(source, fx.Node) else None
        if not isinstance(val, torch.Tensor) or val.dtype.is_floating_point:
            continue
        # The cast in and the cast back belong to the histc's module call, so they carry its
        # provenance; the histc's users keep the integer counts they were traced with.
        with graph.inserting_before(node):
            as_float = _cast(graph, node, source, torch.float32)
        node.replace_input_with(source, as_float)
        node.meta["val"] = node.meta["val"].to(torch.float32)
        with graph.inserting_after(node):
            back = _cast(graph, node, node, val.dtype)
        node.replace_all_uses_with(back, delete_user_cb=lambda user: user is not back)
        count += 1
    return count


def _cast(graph: fx.Graph, like: fx.Node, value: fx.Node, dtype: torch.dtype) -> fx.Node:
    cast = graph.call_function(torch.ops.aten.to.dtype, (value, dtype))
    cast.meta = {k: v for k, v in like.meta.items() if k != "val"}
    cast.meta["val"] = value.meta["val"].to(dtype)
    return cast
