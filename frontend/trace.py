"""Front ends: from a loaded model to an fx graph whose every node has provenance and a shape.

The primary front end is non-strict `torch.export` on the meta-device model (DESIGN.md: it took
all 250 KernelBench problems, keeps `nn_module_stack` on every node and costs no real memory).
What comes out is a `TracedGraph`: the graph plus what the IR needs to know about its
placeholders (which are parameters, buffers, constants, user inputs) and its output structure.

The fallback, for forward()s whose Python control flow reads tensor values (`if x.isnan().any()`,
`int(mask.sum())`), is the same export on a real CPU model and its real inputs, letting
torch use the real values where the meta device has none. Each such decision is then fixed to
the branch the reference inputs took: the guard ops are dropped and the decisions are listed in
`TracedGraph.specialized`, so the verifier's seeded trials judge whether the specialization holds.
`torch.fx.symbolic_trace` is no fallback here: it cannot branch on tensor values either, and
DESIGN.md measured it silently wrong on optional arguments and on state assigned in forward().
"""

from __future__ import annotations

import contextlib
import io
import logging
import operator
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import fx, nn
from torch.utils import _pytree as pytree

from hdecomp_ir.errors import TraceError, UserInputError, first_line
from hdecomp_ir.traced import TracedGraph, flat_outputs
from frontend.loader import LoadedModel, load_model, no_exit
from frontend.loops import find_loop_functions, opaque_loops, regions
from frontend.normalize import normalize
from frontend.opaque_ops import opaque_ops, restore_aten
from frontend.routing import record_routings
from hdecomp_ir.policy import GUARD_NAMES, op_info
from hdecomp_ir.spec import COMPOSITION_ATOL, COMPOSITION_RTOL, trial_seeds
from tensors.collect import collect_tensors
from tensors.compare import compare


PRIMARY = "torch.export(strict=False)"
FALLBACK = "torch.export(strict=False, real tensors)"


def trace(loaded: LoadedModel) -> TracedGraph:
    """Trace the model: meta-device export, else (data-dependent control flow) the real-tensor
    fallback; refuse it with a clear message when neither works. The routings of mixtures of
    experts are recorded on the result (frontend/routing.py)."""
    traced = _trace(loaded)
    traced.routings = record_routings(traced)
    return traced


def _trace(loaded: LoadedModel) -> TracedGraph:
    try:
        with no_exit("forward()", loaded.path):
            return _trace_export(loaded)
    except (UserInputError, MemoryError):
        raise
    except Exception as err:
        primary = err
    if not _needs_real_values(primary):
        raise _refusal(loaded, primary)
    seeds = trial_seeds()
    torch.manual_seed(seeds[0])  # the reference inputs: the verifier's first trial's
    try:
        real = load_model(loaded.path, loaded.class_name, device="cpu")
        traced = _trace_export(real, real_values=True)
    except (TraceError, MemoryError):
        raise
    except Exception as err:
        raise _refusal(loaded, err, fallback=True) from None
    _check_specialization(traced, real, seeds)
    return traced


@torch.no_grad()
def _check_specialization(traced: TracedGraph, real: LoadedModel, seeds: list[int]) -> None:
    """Refuse a specialized graph that computes something else than the model on the inputs of
    the verifier's trials: one static decomposition cannot follow branches that change."""
    module = traced.program.module() if traced.program is not None else None
    if module is None:
        return
    for seed in seeds:
        torch.manual_seed(seed)
        inputs = real.module.get_inputs()
        with _quiet_tracing():
            expected = real.model(*inputs)
            actual = module(*inputs)
        diffs, problems = compare(expected, actual, COMPOSITION_RTOL, COMPOSITION_ATOL)
        if problems or not all(d.passed for d in diffs):
            raise TraceError(
                f"forward() branches on tensor values and the inputs of seed {seed} take another "
                f"branch than those of seed {seeds[0]} (decisions: "
                f"{'; '.join(traced.specialized)}); one static decomposition cannot cover both",
                where=str(real.path), fix="make the branch independent of the input values, or "
                "make get_inputs() produce inputs that always take the same branch")


def _needs_real_values(err: BaseException) -> bool:
    """Whether an export failure came from reading tensor values the meta device does not have."""
    text = f"{type(err).__name__}: {err}"
    return any(mark in text for mark in ("DataDependent", "data-dependent", "on meta tensors",
                                         "meta tensor", "unbacked"))


def _refusal(loaded: LoadedModel, err: BaseException, *, fallback: bool = False) -> TraceError:
    how = "torch.export with real tensors" if fallback else "torch.export"
    line = _model_line(err, loaded.path)
    if line is not None and isinstance(err, (RuntimeError, ValueError, TypeError, IndexError,
                                             AssertionError, AttributeError, KeyError)):
        # The model's own code raised on its own inputs (a shape mismatch, a wrong argument):
        # that is a bug in the model, not something tracing could work around.
        number, text = line
        return TraceError(f"forward() raised {type(err).__name__} at line {number} "
                          f"(`{text}`): {first_line(err)}", where=str(loaded.path),
                          fix="fix that line: the model must run on the inputs get_inputs() returns")
    return TraceError(f"{how} could not trace {loaded.class_name}: {type(err).__name__}: "
                      f"{first_line(err)}", where=str(loaded.path),
                      fix="make forward() traceable (no tensor-valued Python control flow "
                          "that changes with the inputs)")


def _model_line(err: BaseException, path: Path) -> tuple[int, str] | None:
    """The innermost frame of the model file in an exception's traceback: (line, source)."""
    import traceback

    target = path.resolve()
    found = None
    for frame in traceback.extract_tb(err.__traceback__):
        try:
            same = Path(frame.filename).resolve() == target
        except OSError:
            same = False
        if same and frame.lineno is not None:
            found = (frame.lineno, (frame.line or "").strip())
    return found


@contextlib.contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Silence torch's printouts and warnings while tracing; our one-line errors replace them.

    The fused fast paths of nn.MultiheadAttention / nn.TransformerEncoderLayer are switched off:
    they trace to one opaque op in eval mode, which the verifier (running with autograd on) never
    sees, and they hide the linears and the attention a kernel engineer wants as kernels.
    """
    noise = io.StringIO()
    torch_log = logging.getLogger("torch")
    level = torch_log.level
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch_log.setLevel(logging.ERROR)
    # torch logs a failed fake-tensor op with its whole traceback at ERROR level, on handlers
    # holding the real stderr; the exception that follows is reported as one line instead.
    logging.disable(logging.CRITICAL)
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        logging.disable(logging.NOTSET)
        torch_log.setLevel(level)


def _trace_export(loaded: LoadedModel, *, real_values: bool = False) -> TracedGraph:
    args = tuple(loaded.inputs)
    param_fqns: set[str] = set()
    with torch.device(loaded.device), _quiet_tracing(), opaque_ops():
        loops = find_loop_functions(loaded.model, list(args)) if not real_values else []
    # Tensors created inside forward() (masks, aranges) must land on the model's device too.
    with torch.device(loaded.device), _quiet_tracing(), opaque_ops(), opaque_loops(loops):
        if real_values:
            import torch._functorch.config as functorch_config

            with functorch_config.patch(fake_tensor_propagate_real_tensors=True), \
                    _params_as_buffers(loaded.model) as param_fqns:
                ep = torch.export.export(loaded.model, args, strict=False)
        else:
            ep = torch.export.export(loaded.model, args, strict=False)
    restore_aten(ep.graph_module.graph)
    used = {n.args[1] for n in ep.graph_module.graph.nodes
            if n.op == "call_function" and getattr(n.target, "_opname", "") == "loop_region"}
    loop_regions = {index: regions()[index] for index in sorted(used)}
    rewrites = normalize(ep.graph_module.graph)
    specialized = _drop_guards(ep.graph_module.graph) if real_values else []
    if real_values and not specialized:
        # torch fixed a read value (`int(t.item())` as a size) without leaving a check behind
        specialized = ["values read in Python fixed to the reference inputs'"]
    _check_outputs(ep.graph_module.graph, loaded)
    _check_static_shapes(ep.graph_module.graph, loaded)
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
        elif spec.kind == InputKind.BUFFER and spec.target in param_fqns:
            params[name] = spec.target
        elif spec.kind == InputKind.BUFFER:
            buffers[name] = spec.target
            persistent[spec.target] = bool(spec.persistent)
        elif spec.kind in (InputKind.CONSTANT_TENSOR, InputKind.CUSTOM_OBJ):
            constants[name] = spec.target
    return TracedGraph(graph=ep.graph_module.graph, frontend=FALLBACK if real_values else PRIMARY,
                       user_inputs=user_inputs, param_targets=params, buffer_targets=buffers,
                       constant_targets=constants, persistent=persistent,
                       out_spec=ep.call_spec.out_spec, constants=dict(ep.constants),
                       model=loaded.model, input_values=list(args),
                       aliases=tensor_aliases(loaded.model), specialized=specialized, program=ep,
                       rewrites=rewrites, loops=loop_regions,
                       meta_calls=opaque_ops)


@contextlib.contextmanager
def _params_as_buffers(model: nn.Module) -> Iterator[set[str]]:
    """Hold every parameter as a buffer for the duration of a real-tensor export.

    torch 2.13 propagates the real values of buffers and inputs but not of parameters (it made
    up values for them: decisions on `fc(x) > 0` came out different on every run), so the
    fallback presents parameters as buffers and maps them back by name afterwards. Tied
    parameters stay one tensor.
    """
    held: list[tuple[nn.Module, str, nn.Parameter]] = []
    plain: dict[int, torch.Tensor] = {}
    fqns: set[str] = set()
    for prefix, module in model.named_modules(remove_duplicate=False):  # shared modules: every path
        for name, param in module._parameters.items():
            if param is not None:
                fqns.add(f"{prefix}.{name}" if prefix else name)
                if not any(m is module and n == name for m, n, _ in held):
                    held.append((module, name, param))
    for module, name, param in held:
        del module._parameters[name]
        module._buffers[name] = plain.setdefault(id(param), param.detach())
    try:
        yield fqns
    finally:
        for module, name, param in held:
            module._buffers.pop(name, None)
            module._parameters[name] = param


def _drop_guards(graph: fx.Graph) -> list[str]:
    """Remove the runtime checks of data-dependent decisions and what only fed them.

    Returns the decisions, as torch states them (`Eq(u0, 1)`), in graph order.
    """
    decisions = []
    for node in list(graph.nodes):
        if node.op == "call_function" and op_info(node.target).name in GUARD_NAMES:
            msg = next((a for a in node.args if isinstance(a, str)), "")
            decisions.append(msg.split("expression ", 1)[-1].split(" on node")[0]
                             or op_info(node.target).name)
            graph.erase_node(node)
    graph.eliminate_dead_code()
    # `u0 >= 0` / `u0 <= 1` are value ranges torch notes along with a decision on u0: keep the decision.
    decided = {m.group(1) for d in decisions for m in [re.match(r"(?:Eq|Ne)\((u\d+),", d)] if m}
    return [d for d in decisions
            if not (re.fullmatch(r"(u\d+) [<>]= -?\d+", d) and d.split()[0] in decided)]


def tensor_aliases(model: nn.Module) -> dict[str, tuple[str, ...]]:
    """For each parameter or buffer reachable under several names (tied weights), all of them."""
    metas, _ = collect_tensors(model)
    return {name: meta.names for meta in metas if len(meta.names) > 1 for name in meta.names}


def _check_outputs(graph: fx.Graph, loaded: LoadedModel) -> None:
    out = next(n for n in graph.nodes if n.op == "output")
    leaves = pytree.tree_leaves(out.args[0])
    tensors = [v for v in leaves if isinstance(v, fx.Node)
               and isinstance(v.meta.get("val"), torch.Tensor)]
    if not tensors:
        kinds = sorted({type(v).__name__ for v in leaves}) or ["nothing"]
        raise TraceError(f"forward() returns {', '.join(kinds)}, not tensors", where=str(loaded.path),
                         fix="return a tensor or a tuple of tensors from forward()")


def _check_static_shapes(graph: fx.Graph, loaded: LoadedModel) -> None:
    """Refuse graphs whose tensor sizes depend on input values (`torch.where(mask)`, `x[mask]`,
    token routing in a mixture of experts): every component file has one exact shape."""
    for node in graph.nodes:
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor) and not all(isinstance(d, int) for d in val.shape):
            src = node.args[0] if node.target is operator.getitem and node.args else node
            op = getattr(src.target, "__name__", str(src.target)).split(".")[0]
            raise TraceError(
                f"forward() makes a tensor whose size depends on the input values (`{op}` "
                f"{_user_line(node, loaded)}); component files need exact shapes",
                where=str(loaded.path), fix="use fixed-size ops: multiply by masks, run every "
                "expert on every token weighted by its gate, or pad to a maximum size")


def _user_line(node: fx.Node, loaded: LoadedModel) -> str:
    """`at line N` of the model file for a traced node, from its recorded stack."""
    trace_text = node.meta.get("stack_trace") or ""
    lines = re.findall(r'File "([^"]+)", line (\d+)', trace_text)
    mine = [n for f, n in lines if Path(f).name == loaded.path.name]
    return f"at line {mine[-1]}" if mine else "in forward()"
