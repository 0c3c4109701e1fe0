"""What a front end hands the IR: one fx graph of the whole model and the facts about its boundary.

The IR lifts a `TracedGraph`; it never imports a front end. Which placeholders are parameters,
buffers, constants and user inputs, the output structure and the model (on the meta device) are
all recorded here by whichever front end traced it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

import torch
from torch import fx, nn
from torch.utils import _pytree as pytree


@dataclass(frozen=True)
class RecordedRouting:
    """One routing of a mixture of experts, recorded while lowering for an offsets value that
    feeds a grouped matmul (`aten._grouped_mm`'s `offs`: cumulative rows per expert).

    The graph is traced on meta, so routing has no values; the front end evaluates the graph's
    backward slice that computes the offsets (the router) once, with seeded values, and the
    expert kernel files carry its counts. `offsets` is None when the slice could not be
    evaluated (`reason` says why): the files then fall back to a balanced routing.
    """

    rows: int                              # rows of the grouped matmul (tokens x experts per token)
    groups: int                            # experts
    offsets: tuple[int, ...] | None = None
    scope: str = ""                        # module path whose routing was evaluated
    inputs: tuple[tuple[tuple[int, ...], str], ...] = ()  # (shape, dtype) of each seeded input
    weights: tuple[str, ...] = ()          # parameters and buffers given seeded values
    weights_by: str = ""                   # how they got their values, for the analysis
    seed: int = 0
    reason: str = ""

    @property
    def counts(self) -> tuple[int, ...]:
        """Rows per expert (the differences of the offsets)."""
        if self.offsets is None:
            return ()
        return tuple(b - a for a, b in zip((0,) + self.offsets[:-1], self.offsets))


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
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # tied tensor FQN -> all names
    specialized: list[str] = field(default_factory=list)  # data-dependent decisions fixed by the fallback
    program: Any = None                                   # the torch.export ExportedProgram
    rewrites: list[str] = field(default_factory=list)     # front-end rewrites, for the analysis
    # `hdecomp::loop_region` nodes' region argument -> the loop function call it stands for
    # (frontend/loops.py: a function, its literal arguments, the source lines it ran)
    loops: dict[int, Any] = field(default_factory=dict)
    # How to run one of the model's modules on the meta device (the front end's opaque RNN
    # twins keep that fast); the IR asks it when naming a module's call form.
    meta_calls: Callable[[], ContextManager[Any]] = contextlib.nullcontext
    # offsets node name -> the routing recorded for it (frontend/routing.py)
    routings: dict[str, RecordedRouting] = field(default_factory=dict)


def flat_outputs(traced: TracedGraph) -> list[fx.Node | Any]:
    """The output node's flat list of returned values."""
    out = next(n for n in traced.graph.nodes if n.op == "output")
    return list(pytree.tree_leaves(out.args[0]))
