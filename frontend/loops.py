"""Loops over time: a Python function whose one call runs the same lines again and again (a
selective scan, a hand-written recurrence) is traced as one op, not unrolled.

torch.export records every op a Python loop runs: Mamba's scan at sequence 2048 is about 18,000
nodes per layer, and export costs a millisecond or more per node, so the 24 layers of Mamba-130m
never finished tracing. Here:

1. A probe runs the model on the meta device (no tracing, microseconds per op) and watches the
   Python frames that dispatch ops. A frame in which some line is entered `LOOP_MIN_STEPS` times
   in one call is a loop; the probe stops there, and starts again with that function opaque,
   until the forward runs through. Loops in the model's own forward() are left unrolled (the
   whole model would be one op).
2. While tracing, each such function is replaced, wherever it is referenced (module globals,
   closure cells of the decorators wrapping it), by a call of `hdecomp::loop_region`: one node
   whose inputs are the call's tensors; the other arguments are kept per region. Its output
   shapes come from running the function once on meta tensors per distinct input signature, so
   tracing no longer grows with the sequence length beyond that one plain meta run.
3. The regions go to the IR with the trace (`TracedGraph.loops`); the code generator writes the
   function's own source, specialised to the branches this call took (codegen/loop_source.py).

A function is made opaque only when every argument outside its tensors is a plain literal and
its result is a tensor or a flat tuple of tensors; otherwise it stays unrolled as before.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from hdecomp_ir.policy import LOOP_MIN_STEPS

_TORCH_DIR = os.path.dirname(torch.__file__)
_LITERALS = (bool, int, float, str, type(None), torch.dtype)
_LIB: torch.library.Library | None = None
# Probe rounds: each round finds one loop function; a model with more distinct ones stays
# partly unrolled rather than probed forever.
MAX_LOOP_FUNCTIONS = 8


class _TensorSlot:
    """Marks where a tensor argument sits among a call's flattened arguments."""

    def __repr__(self) -> str:
        return "<tensor>"


TENSOR = _TensorSlot()


@dataclass
class LoopRegion:
    """One distinct call of a loop function: the function, its argument structure with the
    literals in place, and what one run on meta saw."""

    func: types.FunctionType
    spec: Any                          # pytree spec of (args, kwargs)
    leaves: tuple[Any, ...]            # literals, TENSOR where a tensor goes
    executed: set[int] = field(default_factory=set)   # source lines one call ran
    steps: int = 0                     # how many times the loop's busiest line ran
    outputs: int = 1                   # how many tensors it returns
    single: bool = True                # the function returns one tensor (not a tuple)

    @property
    def name(self) -> str:
        return self.func.__name__

    def arguments(self, tensors: list[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """(args, kwargs) of the call with `tensors` in the tensor slots."""
        it = iter(tensors)
        leaves = [next(it) if leaf is TENSOR else leaf for leaf in self.leaves]
        return pytree.tree_unflatten(leaves, self.spec)


# region id -> region; (region id, input signature) -> output (shape, stride, dtype)
_REGIONS: list[LoopRegion] = []
_SHAPES: dict[tuple, list[tuple[tuple[int, ...], tuple[int, ...], torch.dtype]]] = {}


class _Found(Exception):
    def __init__(self, code: types.CodeType, steps: int) -> None:
        super().__init__(code.co_name)
        self.code, self.steps = code, steps


class _LoopProbe(TorchDispatchMode):
    """Counts, per live Python frame, how often each line is entered while it dispatches ops."""

    def __init__(self, skip: set[types.CodeType]) -> None:
        super().__init__()
        self.skip = skip
        self.frames: dict[Any, list[Any]] = {}

    def __torch_dispatch__(self, func: Any, types_: Any, args: Any = (), kwargs: Any = None) -> Any:
        frame = sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            if code not in self.skip and not code.co_filename.startswith(_TORCH_DIR) \
                    and not code.co_filename.startswith("<"):
                state = self.frames.setdefault(frame, [None, {}])
                line = frame.f_lineno
                if line != state[0]:
                    state[0] = line
                    state[1][line] = state[1].get(line, 0) + 1
                    if state[1][line] >= LOOP_MIN_STEPS:
                        raise _Found(code, state[1][line])
            frame = frame.f_back
        return func(*args, **(kwargs or {}))


def find_loop_functions(model: torch.nn.Module, inputs: list[Any]) -> list[types.FunctionType]:
    """The functions (never the model's own forward) whose one call loops over time."""
    found: list[types.FunctionType] = []
    skip: set[types.CodeType] = {type(model).forward.__code__}
    for _ in range(MAX_LOOP_FUNCTIONS):
        try:
            with torch.no_grad(), torch.device("meta"), _LoopProbe(skip), opaque_loops(found):
                model(*inputs)
            return found
        except _Found as hit:
            skip.add(hit.code)
            func = _function_of(hit.code)
            if func is not None:
                found.append(func)
        except Exception:  # noqa: BLE001 - the probe only looks; tracing reports real errors
            return found
    return found


def _function_of(code: types.CodeType) -> types.FunctionType | None:
    """The one plain function running `code` (methods and closures made per call are left
    alone: their first argument or their cells are not literals a file can hold)."""
    gc.collect()
    funcs = [r for r in gc.get_referrers(code) if isinstance(r, types.FunctionType)]
    if len(funcs) != 1 or funcs[0].__closure__:
        return None
    func = funcs[0]
    params = func.__code__.co_varnames[:func.__code__.co_argcount]
    if params and params[0] in ("self", "cls"):
        return None
    return func


def _register() -> None:
    global _LIB
    if _LIB is not None:
        return
    lib = torch.library.Library("hdecomp", "FRAGMENT")
    lib.define("loop_region(Tensor[] inputs, int region) -> Tensor[]")
    lib.impl("loop_region", _run_real, "CompositeExplicitAutograd")
    torch.library.register_fake("hdecomp::loop_region", _run_fake, lib=lib)
    _LIB = lib


def _as_list(out: Any) -> list[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else list(out)


def _run_real(inputs: list[torch.Tensor], region: int) -> list[torch.Tensor]:
    args, kwargs = _REGIONS[region].arguments(list(inputs))
    # a custom op's outputs may not alias its inputs
    return [t.clone() for t in _as_list(_REGIONS[region].func(*args, **kwargs))]


def _run_fake(inputs: list[torch.Tensor], region: int) -> list[torch.Tensor]:
    key = (region, tuple((tuple(t.shape), t.stride(), t.dtype) for t in inputs))
    if key not in _SHAPES:
        _SHAPES[key] = _meta_run(_REGIONS[region], inputs)
    device = inputs[0].device if inputs else torch.device("meta")
    return [torch.empty_strided(shape, stride, dtype=dtype, device=device)
            for shape, stride, dtype in _SHAPES[key]]


def _meta_run(region: LoopRegion, inputs: list[torch.Tensor]) -> list[tuple]:
    """Run the function once on plain meta tensors (fake tensors cost a millisecond per op;
    meta ones microseconds), noting the lines it executes."""
    code = region.func.__code__
    executed_counts: dict[int, int] = {}

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code is not code:
            return None

        def local(frame: Any, event: str, arg: Any) -> Any:
            if event == "line":
                executed_counts[frame.f_lineno] = executed_counts.get(frame.f_lineno, 0) + 1
            return local
        return local

    with _disable_current_modes(), torch.no_grad():
        metas = [torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")
                 for t in inputs]
        args, kwargs = region.arguments(metas)
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            out = region.func(*args, **kwargs)
        finally:
            sys.settrace(previous)
    region.executed |= set(executed_counts)
    # The body's lines run once a step, the `for` line once more: the commonest count (the
    # smaller on a tie) is the number of steps.
    repeated = [c for c in executed_counts.values() if c > 1]
    if repeated:
        region.steps = min(set(repeated), key=lambda c: (-repeated.count(c), c))
    region.single = isinstance(out, torch.Tensor)
    outs = _as_list(out)
    if not all(isinstance(o, torch.Tensor) for o in outs):
        raise TypeError(f"{region.name}() returns {type(out).__name__} of non-tensors; a loop "
                        "region returns a tensor or a flat tuple of tensors")
    region.outputs = len(outs)
    return [(tuple(o.shape), o.stride(), o.dtype) for o in outs]



def _region_for(func: types.FunctionType, args: tuple, kwargs: dict) -> tuple[int, list] | None:
    leaves, spec = pytree.tree_flatten((args, kwargs))
    if not all(isinstance(v, (torch.Tensor, *_LITERALS)) for v in leaves):
        return None
    marked = tuple(TENSOR if isinstance(v, torch.Tensor) else v for v in leaves)
    for index, region in enumerate(_REGIONS):
        if region.func is func and region.spec == spec and region.leaves == marked:
            return index, [v for v in leaves if isinstance(v, torch.Tensor)]
    _REGIONS.append(LoopRegion(func, spec, marked))
    return len(_REGIONS) - 1, [v for v in leaves if isinstance(v, torch.Tensor)]


def _opaque(func: types.FunctionType) -> Callable[..., Any]:
    holder = [func]  # not a closure cell of func's own: patching cells must skip the wrapper's

    def loop_call(*args: Any, **kwargs: Any) -> Any:
        found = _region_for(holder[0], args, kwargs)
        if found is None:
            return holder[0](*args, **kwargs)
        index, tensors = found
        outs = torch.ops.hdecomp.loop_region(tensors, index)
        return outs[0] if _REGIONS[index].single else tuple(outs)
    loop_call.__wrapped__ = func  # type: ignore[attr-defined]
    return loop_call


@contextlib.contextmanager
def opaque_loops(funcs: list[types.FunctionType]) -> Iterator[None]:
    """Route every reference to each loop function (module globals, closure cells) to its
    `hdecomp::loop_region` call for the duration of a trace."""
    if not funcs:
        yield
        return
    _register()
    patched: list[tuple[Any, Any, Any]] = []
    gc.collect()
    for func in funcs:
        wrapper = _opaque(func)
        for ref in gc.get_referrers(func):
            if isinstance(ref, types.CellType):
                patched.append((ref, None, func))
                ref.cell_contents = wrapper
            elif isinstance(ref, dict) and ref is not sys.modules:
                for key, value in list(ref.items()):
                    if value is func and key != "__wrapped__":
                        patched.append((ref, key, func))
                        ref[key] = wrapper
    try:
        yield
    finally:
        for ref, key, func in reversed(patched):
            if isinstance(ref, types.CellType):
                ref.cell_contents = func
            else:
                ref[key] = func


def regions() -> list[LoopRegion]:
    """Every region recorded in this process (indexed by the `region` argument of the op)."""
    return _REGIONS
