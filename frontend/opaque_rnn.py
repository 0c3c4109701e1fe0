"""Recurrent builtins (nn.LSTM, nn.GRU, nn.RNN) as opaque ops while tracing.

`aten.lstm.input` and its siblings are CompositeImplicit: torch.export keeps one node for them,
but computes that node's output shapes by stepping the fake tensors through every time step and
layer, which costs seconds to minutes for real sequence lengths (DESIGN.md measured 13-88 s).
During tracing the module's call of `_VF.lstm` (and gru, rnn_tanh, rnn_relu) is routed to an
`hdecomp::` op with the same schema and a shape-only fake implementation; the traced nodes are then
retargeted to the aten op, so the graph is exactly what export would have produced, only sooner.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import fx

_RNN_OPS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
_LIB: torch.library.Library | None = None


def _register() -> None:
    """Define the hdecomp:: twins of the aten recurrent ops (once per process)."""
    global _LIB
    if _LIB is not None:
        return
    lib = torch.library.Library("hdecomp", "FRAGMENT")
    for name in _RNN_OPS:
        aten = getattr(torch.ops.aten, name).input
        schema = str(aten._schema).split("(", 1)[1]
        lib.define(f"{name}({schema}")
        lib.impl(name, aten, "CompositeExplicitAutograd")
        torch.library.register_fake(f"hdecomp::{name}", _fake(name), lib=lib)
    _LIB = lib


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
        if name not in _RNN_OPS:
            return real
        twin = getattr(torch.ops.hdecomp, name)

        def call(*args: Any) -> Any:
            # The `.input` overload has the parameter list at index 2; `.data` has a tensor there.
            if len(args) == 9 and isinstance(args[2], (list, tuple)):
                return twin(*args)
            return real(*args)
        return call


@contextlib.contextmanager
def opaque_rnns() -> Iterator[None]:
    """Route recurrent builtins to the shape-only twins for the duration of a trace."""
    import torch.nn.modules.rnn as rnn_module

    _register()
    real = rnn_module._VF
    rnn_module._VF = _RoutedVF(real)
    try:
        yield
    finally:
        rnn_module._VF = real


def restore_aten(graph: fx.Graph) -> None:
    """Retarget the hdecomp:: twins in a traced graph to the aten ops they stand for."""
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        if getattr(target, "namespace", None) == "hdecomp":
            node.target = getattr(torch.ops.aten, target._opname).input
