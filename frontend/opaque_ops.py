"""Ops whose own meta functions cannot be used while tracing, as opaque shape-only twins.

`aten.lstm.input` and its siblings are CompositeImplicit: torch.export keeps one node for them,
but computes that node's output shapes by stepping the fake tensors through every time step and
layer, which costs seconds to minutes for real sequence lengths (DESIGN.md measured 13-88 s).
During tracing the module's call of `_VF.lstm` (and gru, rnn_tanh, rnn_relu) is routed to an
`hdecomp::` op with the same schema and a shape-only fake implementation; the traced nodes are then
retargeted to the aten op, so the graph is exactly what export would have produced, only sooner.

`aten._grouped_mm` (`F.grouped_mm`, the experts of a mixture of experts in transformers 5) has a
meta function that enforces CUDA's rule (bf16 only), although the CPU kernel takes every float
dtype: an fp32 model, or a generated fp32 experts file, could not be traced at all. Its twin
`hdecomp::grouped_mm` computes the same shapes for every dtype and is retargeted the same way.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import fx

from hdecomp_ir.policy import RECURRENT_NAMES

_LIB: torch.library.Library | None = None
# twin name -> the aten overload it stands for (restored after tracing)
_ATEN = {name: (lambda name=name: getattr(torch.ops.aten, name).input) for name in RECURRENT_NAMES}
_ATEN["grouped_mm"] = lambda: torch.ops.aten._grouped_mm.default


def _register() -> None:
    """Define the hdecomp:: twins of the aten recurrent ops (once per process)."""
    global _LIB
    if _LIB is not None:
        return
    lib = torch.library.Library("hdecomp", "FRAGMENT")
    for name in RECURRENT_NAMES:
        aten = getattr(torch.ops.aten, name).input
        schema = str(aten._schema).split("(", 1)[1]
        lib.define(f"{name}({schema}")
        lib.impl(name, aten, "CompositeExplicitAutograd")
        torch.library.register_fake(f"hdecomp::{name}", _fake(name), lib=lib)
    grouped = torch.ops.aten._grouped_mm.default
    lib.define("grouped_mm(" + str(grouped._schema).split("(", 1)[1])
    lib.impl("grouped_mm", grouped, "CompositeExplicitAutograd")
    torch.library.register_fake("hdecomp::grouped_mm", _grouped_mm_shape, lib=lib)
    _LIB = lib


def _grouped_mm_shape(mat_a: torch.Tensor, mat_b: torch.Tensor, offs: Any = None,
                      bias: Any = None, out_dtype: Any = None) -> torch.Tensor:
    """Output of a grouped matmul by the operands' ranks (torch's documented cases)."""
    dtype = out_dtype or mat_a.dtype
    if mat_a.dim() == 2 and mat_b.dim() == 3:      # rows grouped by offs: (S, K) x (E, K, N)
        shape = (mat_a.shape[0], mat_b.shape[-1])
    elif mat_a.dim() == 3 and mat_b.dim() == 3:    # batched: (E, M, K) x (E, K, N)
        shape = (mat_a.shape[0], mat_a.shape[1], mat_b.shape[-1])
    elif mat_a.dim() == 2 and mat_b.dim() == 2:    # K grouped by offs: (M, K) x (K, N)
        shape = (offs.shape[0], mat_a.shape[0], mat_b.shape[-1])
    else:                                          # columns grouped: (E, M, K) x (K, N)
        shape = (mat_a.shape[1], mat_b.shape[-1])
    return mat_a.new_empty(shape, dtype=dtype)


def _fake(name: str) -> Any:
    def shapes(input: torch.Tensor, hx: Any, params: list[torch.Tensor], has_biases: bool,
               num_layers: int, dropout: float, train: bool, bidirectional: bool,
               batch_first: bool) -> Any:
        states = list(hx) if isinstance(hx, (list, tuple)) else [hx]
        directions = 2 if bidirectional else 1
        hidden_out = states[0].shape[-1]  # proj_size when the LSTM projects
        out_shape = (*input.shape[:2], directions * hidden_out)
        output = input.new_empty(out_shape)
        if name == "lstm":
            return output, states[0].new_empty(states[0].shape), states[1].new_empty(states[1].shape)
        return output, states[0].new_empty(states[0].shape)
    return shapes


class _RoutedVF:
    """Stands in for `torch._VF` inside torch.nn.modules.rnn: the `.input` overloads of the
    recurrent ops go to the hdecomp:: twins; everything else (packed sequences, cells) to torch."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._real, name)
        if name not in RECURRENT_NAMES:
            return real
        twin = getattr(torch.ops.hdecomp, name)

        def call(*args: Any) -> Any:
            # The `.input` overload has the parameter list at index 2; `.data` has a tensor there.
            if len(args) == 9 and isinstance(args[2], (list, tuple)):
                return twin(*args)
            return real(*args)
        return call


@contextlib.contextmanager
def opaque_ops() -> Iterator[None]:
    """Route recurrent builtins and grouped matmuls to the shape-only twins for the duration of
    a trace (or of a meta-device run)."""
    import torch.nn.modules.rnn as rnn_module

    _register()
    real = rnn_module._VF
    rnn_module._VF = _RoutedVF(real)
    grouped = torch._grouped_mm  # F.grouped_mm looks it up on torch at each call
    torch._grouped_mm = torch.ops.hdecomp.grouped_mm
    try:
        yield
    finally:
        rnn_module._VF = real
        torch._grouped_mm = grouped


def restore_aten(graph: fx.Graph) -> None:
    """Retarget the hdecomp:: twins in a traced graph to the aten ops they stand for."""
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        # loop regions stay: no aten op stands for a Python loop (frontend/loops.py)
        if getattr(target, "namespace", None) == "hdecomp" and target._opname in _ATEN:
            node.target = _ATEN[target._opname]()
