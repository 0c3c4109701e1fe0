"""Recorded routings of mixtures of experts: the router evaluated once, cheaply, while lowering.

An expert kernel (`aten._grouped_mm`) takes `offs`, the cumulative rows each expert owns. The
graph is traced on meta, so those counts have no values, yet a kernel file's get_inputs() must
pass some. Rather than invent a split, the front end records one routing the model itself
computes: the backward slice of the graph that produces the offsets (the router and the counting
of its choices) is run with real tensors, at the exact traced shapes and dtypes.

- The slice stops at the innermost module around the offsets whose part of the slice reads a
  weight (the router's) and is otherwise fed by floating-point activations: those activations
  (the hidden states entering the MoE block) get seeded random values, `torch.randn` at their
  shape and dtype, as a component's get_inputs() draws them.
- Only the parameters and buffers the slice reads get values (a router is hidden x experts; the
  experts' weights are never materialised): each is made on a shallow copy of its owning module
  and initialised by the model's own initialiser (`_init_weights` of the nearest transformers
  ancestor, else the owner's `reset_parameters`), under BASE_SEED. One left unwritten by that
  initialiser makes the slice unavailable rather than computed from garbage.
- A slice that cannot be evaluated is recorded with its reason and no offsets; the files then
  use a balanced routing and the analysis says which routing each component got.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from hdecomp_ir.errors import first_line
from hdecomp_ir.ir import grouped_mm_rows
from hdecomp_ir.spec import BASE_SEED
from hdecomp_ir.traced import RecordedRouting, TracedGraph


@dataclass
class RouterSlice:
    """The nodes that compute one offsets value inside `scope`, in graph order, and its edges."""

    scope: str
    nodes: list[fx.Node]            # computed nodes, graph order
    activations: list[fx.Node]      # values from outside the scope: seeded random inputs
    weights: dict[fx.Node, str]     # weight placeholders read -> FQN


def record_routings(traced: TracedGraph) -> dict[str, RecordedRouting]:
    """A RecordedRouting for every offsets value that feeds a grouped matmul, by node name.

    Slices with the same structure (every layer's router of one model) are evaluated once: each
    evaluation starts from the same seed, so they would give the same counts.
    """
    weights = {**traced.param_targets, **traced.buffer_targets}
    order = {n: i for i, n in enumerate(traced.graph.nodes)}
    found: dict[str, RecordedRouting] = {}
    done: dict[tuple[Any, ...], RecordedRouting] = {}
    for node in traced.graph.nodes:
        shape = grouped_mm_rows(node)
        if shape is None:
            continue
        rows, groups = shape
        piece = router_slice(node, weights, order)
        if isinstance(piece, str):
            found[node.name] = RecordedRouting(rows, groups, reason=piece)
            continue
        key = (rows, groups, _signature(piece, node, traced.model))
        if key not in done:
            done[key] = evaluate_routing(piece, node, traced.model, rows, groups)
        # the counts are shared; the record still names this slice's own module and weights
        found[node.name] = dataclasses.replace(done[key], scope=piece.scope,
                                               weights=tuple(piece.weights.values()))
    return found


def _scopes(node: fx.Node) -> list[str]:
    """Module paths around `node`, innermost first."""
    stack = node.meta.get("nn_module_stack") or {}
    return [path for path, _cls in reversed(list(stack.values()))]


def _inside(node: fx.Node, scope: str) -> bool:
    return scope in _scopes(node)


def router_slice(offsets: fx.Node, weights: dict[str, str],
                 order: dict[fx.Node, int]) -> RouterSlice | str:
    """The backward slice computing `offsets`, cut at the innermost enclosing module that routes
    (its part of the slice reads a weight and is fed by floating-point values only); a reason
    string when no module around the offsets does."""
    for scope in _scopes(offsets):
        nodes: set[fx.Node] = set()
        activations: set[fx.Node] = set()
        read: dict[fx.Node, str] = {}
        frontier = [offsets]
        while frontier:
            node = frontier.pop()
            if node in nodes or node in activations or node in read:
                continue
            if node.op == "placeholder" and node.name in weights:
                read[node] = weights[node.name]
            elif node.op == "call_function" and _inside(node, scope):
                nodes.add(node)
                frontier.extend(node.all_input_nodes)
            else:
                activations.add(node)
        fed_by_floats = all(isinstance(a.meta.get("val"), torch.Tensor)
                            and a.meta["val"].dtype.is_floating_point for a in activations)
        if read and fed_by_floats:
            return RouterSlice(scope, sorted(nodes, key=order.__getitem__),
                               sorted(activations, key=order.__getitem__),
                               {w: read[w] for w in sorted(read, key=order.__getitem__)})
    return (f"no module around `{offsets.name}` computes it from weights and floating-point "
            "activations alone (no router found)")


def _signature(piece: RouterSlice, offsets: fx.Node, model: nn.Module | None) -> tuple[Any, ...]:
    """What the slice's result depends on: its ops with their arguments (nodes by position),
    the shapes and dtypes of its inputs, and each weight's owner class and local name."""
    index = {n: i for i, n in enumerate([*piece.activations, *piece.weights, *piece.nodes])}

    def arg(a: Any) -> Any:
        if isinstance(a, fx.Node):
            return ("node", index.get(a))
        if isinstance(a, (list, tuple)):
            return tuple(arg(x) for x in a)
        return repr(a)

    ops = tuple((str(n.target), arg(n.args), arg(tuple(sorted(n.kwargs.items()))))
                for n in piece.nodes)
    feeds = tuple((tuple(a.meta["val"].shape), str(a.meta["val"].dtype)) for a in piece.activations)
    owners = []
    for fqn in piece.weights.values():
        owner, _, local = fqn.rpartition(".")
        cls = type(model.get_submodule(owner)).__qualname__ if model is not None else ""
        owners.append((cls, local))
    return ops, feeds, tuple(owners), index[offsets]


def evaluate_routing(piece: RouterSlice, offsets: fx.Node, model: nn.Module | None,
                     rows: int, groups: int) -> RecordedRouting:
    """Run the slice with seeded weights and inputs; the recorded routing, or the reason it
    could not be computed (then without offsets)."""
    feeds = tuple((tuple(int(d) for d in a.meta["val"].shape), str(a.meta["val"].dtype))
                  for a in piece.activations)
    names = tuple(piece.weights.values())

    def unavailable(reason: str) -> RecordedRouting:
        return RecordedRouting(rows, groups, scope=piece.scope, inputs=feeds, weights=names,
                               seed=BASE_SEED, reason=reason)

    if model is None:
        return unavailable("the traced model is not at hand")
    if any(_lookup(model, fqn).device.type == "meta" for fqn in names):
        weights_by = f"drawn by the model's own initialiser under seed {BASE_SEED}"
    else:
        weights_by = ("as the model's constructor made them (it was built with real tensors to "
                      "be traced)")
    try:
        # The global generator drives the model's own initialisers; keep the caller's state.
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(BASE_SEED)
            values = seeded_weights(model, names)
            if isinstance(values, str):
                return unavailable(values)
            gen = torch.Generator().manual_seed(BASE_SEED)
            inputs = [torch.randn(a.meta["val"].shape, dtype=a.meta["val"].dtype, generator=gen)
                      for a in piece.activations]
            result = _slice_module(piece, offsets)(*inputs, *[values[f] for f in names])
    except Exception as err:  # noqa: BLE001 - any failure of model code means: no recording
        return unavailable(f"evaluating it raised {type(err).__name__}: {first_line(err)}")
    if not isinstance(result, torch.Tensor) or tuple(result.shape) != (groups,):
        return unavailable(f"it gave {type(result).__name__} "
                           f"{list(getattr(result, 'shape', []))}, not {groups} offsets")
    ends = tuple(int(v) for v in result.tolist())
    if any(b < a for a, b in zip((0,) + ends, ends)) or ends[-1] != rows:
        # offsets that leave rows unwritten (or overrun them) are no routing of these rows
        return unavailable(f"its offsets {list(ends)} do not cover the {rows} rows")
    return RecordedRouting(rows, groups, offsets=ends, scope=piece.scope, inputs=feeds,
                           weights=names, weights_by=weights_by, seed=BASE_SEED)


def _slice_module(piece: RouterSlice, offsets: fx.Node) -> fx.GraphModule:
    """The slice as a GraphModule taking (activations..., weights...) and returning `offsets`."""
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in [*piece.activations, *piece.weights]:
        env[node] = graph.placeholder(node.name)
    for node in piece.nodes:
        env[node] = graph.node_copy(node, env.__getitem__)
    graph.output(env[offsets])
    return fx.GraphModule(nn.Module(), graph)


def seeded_weights(model: nn.Module, fqns: tuple[str, ...]) -> dict[str, torch.Tensor] | str:
    """Real values for the named parameters and buffers of a (meta) model, drawn by the model's
    own initialiser from the current global generator, owners in the order given; a reason
    string when some tensor gets no value that way. The model itself is left untouched."""
    values: dict[str, torch.Tensor] = {}
    by_owner: dict[str, list[str]] = {}
    for fqn in fqns:
        owner, _, local = fqn.rpartition(".")
        by_owner.setdefault(owner, []).append(local)
    for owner_path, locals_ in by_owner.items():
        owner = model.get_submodule(owner_path)
        current = {local: _tensor(owner, local) for local in locals_}
        if all(t.device.type != "meta" for t in current.values()):
            # a model built with real tensors (the real-values front end) has its own values
            values.update({f"{owner_path}.{k}" if owner_path else k: t.detach().clone()
                           for k, t in current.items()})
            continue
        # A shallow copy with fresh tensors for just these names: the initialiser writes them
        # and nothing else of the model gets memory (other tensors stay on meta).
        clone = copy.copy(owner)
        clone._parameters = dict(owner._parameters)
        clone._buffers = dict(owner._buffers)
        for local, tensor in current.items():
            if not tensor.dtype.is_floating_point:
                return f"`{owner_path}.{local}` is an integer tensor the model computes itself"
            # NaN marks what the initialiser did not write
            fresh = torch.full(tuple(tensor.shape), float("nan"), dtype=tensor.dtype)
            if local in owner._parameters:
                clone._parameters[local] = nn.Parameter(fresh, requires_grad=False)
            else:
                clone._buffers[local] = fresh
        how = _initialise(model, owner_path, clone)
        if how is not None:
            return how
        for local in locals_:
            value = _tensor(clone, local)
            if value.device.type == "meta" or bool(torch.isnan(value).any()):
                return (f"the model's initialiser leaves `{owner_path}.{local}` unwritten "
                        "(its value comes from the constructor alone)")
            values[f"{owner_path}.{local}" if owner_path else local] = value.detach()
    return values


def _lookup(model: nn.Module, fqn: str) -> torch.Tensor:
    owner, _, local = fqn.rpartition(".")
    return _tensor(model.get_submodule(owner), local)


def _tensor(module: nn.Module, local: str) -> torch.Tensor:
    found = module._parameters.get(local)
    return found if found is not None else module._buffers[local]


def _initialise(model: nn.Module, owner_path: str, clone: nn.Module) -> str | None:
    """Initialise `clone` (the module at `owner_path`) as the model would; a reason when no
    initialiser is known. transformers models initialise every module through their own
    `_init_weights` (config-driven std); torch.nn modules have `reset_parameters`."""
    parts = owner_path.split(".") if owner_path else []
    for depth in range(len(parts), -1, -1):
        ancestor = model.get_submodule(".".join(parts[:depth]))
        init_weights = getattr(ancestor, "_init_weights", None)
        if callable(init_weights):
            init_weights(clone)
            return None
    reset = getattr(clone, "reset_parameters", None)
    if callable(reset):
        reset()
        return None
    return (f"`{owner_path or type(model).__name__}` has no initialiser to call "
            "(no `_init_weights` above it, no `reset_parameters`)")
