"""Front ends: from a loaded model to an fx graph whose every node has provenance and a shape.

The primary front end is non-strict `torch.export` on the meta-device model (DESIGN.md: it took
all 250 KernelBench problems, keeps `nn_module_stack` on every node and costs no real memory).
What comes out is a `TracedGraph`: the graph plus what the IR needs to know about its
placeholders (which are parameters, buffers, constants, user inputs) and its output structure.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.utils import _pytree as pytree

from hdecomp_ir.errors import TraceError, first_line
from hdecomp_ir.loader import LoadedModel


@dataclass
class TracedGraph:
    """An fx graph of the whole model with the facts the IR needs about its boundary."""

    graph: fx.Graph
    frontend: str
    user_inputs: list[str]                      # placeholder names, in forward() order
    param_targets: dict[str, str]               # placeholder name -> parameter FQN
    buffer_targets: dict[str, str]              # placeholder name -> buffer FQN
    constant_targets: dict[str, str]            # placeholder name -> lifted constant name
    persistent: dict[str, bool]                 # buffer FQN -> persistent
    out_spec: Any                               # pytree spec of forward()'s return value
    constants: dict[str, torch.Tensor] = field(default_factory=dict)
    model: nn.Module | None = None
    input_values: list[Any] = field(default_factory=list)


def trace(loaded: LoadedModel) -> TracedGraph:
    """Trace the model with the primary front end; refuse it with a clear message on failure."""
    try:
        return _trace_export(loaded)
    except (TraceError, MemoryError):
        raise
    except Exception as err:
        raise TraceError(f"torch.export could not trace {loaded.class_name}: "
                         f"{type(err).__name__}: {first_line(err)}", where=str(loaded.path),
                         fix="remove data-dependent Python control flow from forward()") from None


def _trace_export(loaded: LoadedModel) -> TracedGraph:
    args = tuple(loaded.inputs)
    # Tensors created inside forward() (masks, aranges) must land on the model's device too.
    # torch prints the partial graph of a failed trace; our one-line error replaces it.
    noise = io.StringIO()
    with torch.device(loaded.device), contextlib.redirect_stdout(noise), \
            contextlib.redirect_stderr(noise):
        ep = torch.export.export(loaded.model, args, strict=False)
    _check_outputs(ep.graph_module.graph, loaded)
    sig = ep.graph_signature
    from torch.export.graph_signature import InputKind

    user_inputs: list[str] = []
    params: dict[str, str] = {}
    buffers: dict[str, str] = {}
    constants: dict[str, str] = {}
    persistent: dict[str, bool] = {}
    for spec in sig.input_specs:
        name = spec.arg.name
        if spec.kind == InputKind.USER_INPUT:
            user_inputs.append(name)
        elif spec.kind == InputKind.PARAMETER:
            params[name] = spec.target
        elif spec.kind == InputKind.BUFFER:
            buffers[name] = spec.target
            persistent[spec.target] = bool(spec.persistent)
        elif spec.kind in (InputKind.CONSTANT_TENSOR, InputKind.CUSTOM_OBJ):
            constants[name] = spec.target
    return TracedGraph(graph=ep.graph_module.graph, frontend="torch.export(strict=False)",
                       user_inputs=user_inputs, param_targets=params, buffer_targets=buffers,
                       constant_targets=constants, persistent=persistent,
                       out_spec=ep.call_spec.out_spec, constants=dict(ep.constants),
                       model=loaded.model, input_values=list(args))


def _check_outputs(graph: fx.Graph, loaded: LoadedModel) -> None:
    out = next(n for n in graph.nodes if n.op == "output")
    leaves = pytree.tree_leaves(out.args[0])
    tensors = [v for v in leaves if isinstance(v, fx.Node)
               and isinstance(v.meta.get("val"), torch.Tensor)]
    if not tensors:
        kinds = sorted({type(v).__name__ for v in leaves}) or ["nothing"]
        raise TraceError(f"forward() returns {', '.join(kinds)}, not tensors", where=str(loaded.path),
                         fix="return a tensor or a tuple of tensors from forward()")


def flat_outputs(traced: TracedGraph) -> list[fx.Node | Any]:
    """The output node's flat list of returned values."""
    out = next(n for n in traced.graph.nodes if n.op == "output")
    return list(pytree.tree_leaves(out.args[0]))
