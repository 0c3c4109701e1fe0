"""Naming rules: attribute names inside component files, file names, canonical keys.

One source of truth: the code generator uses these names, and the structural key hashes the same
names, so two components with equal keys generate identical code (STYLE.md, lesson 6).
"""

from __future__ import annotations

import hashlib
import keyword
import operator
import re
from typing import Any, Callable, ContextManager

import torch
from torch import fx, nn

from hdecomp_ir.ir import IR, Component, TensorType, snake_case, value_type
from hdecomp_ir.policy import RECURRENT_NAMES, Pattern
from hdecomp_ir.spec import HDECOMP_PACKAGES, dtype_code


def identifier(text: str) -> str:
    """A valid Python identifier from a dotted path or label (`blocks.0.ln` -> `blocks_0_ln`)."""
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", text).strip("_") or "m"
    if s[0].isdigit():
        s = f"m_{s}"
    if keyword.iskeyword(s):
        s += "_"
    return s


# Module names a component file must not take: `sys.path` puts children/ first, so a child
# called `torch.py` or `math.py` would shadow the library every file imports.
_SHADOWED = frozenset({"torch", "einops", "numpy", "typing_extensions", "children", "original",
                       "refactored", "model", "root"})
COMPONENT_NAME_MAX = 120


def component_name_problem(name: str) -> str | None:
    """Why `name` cannot be a component's name (its file stem, step folder and tree name), or
    None when it can: lower snake case (`[a-z][a-z0-9_]*`, as `identifier` and the generator's
    `{op}_{shape}_{dtype}` stems are), not a Python keyword, not a module name it would shadow."""
    import sys

    if not name:
        return "the name is empty"
    if len(name) > COMPONENT_NAME_MAX:
        return f"the name is {len(name)} characters long (at most {COMPONENT_NAME_MAX})"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return "a component name is lower snake case: a letter a-z first, then a-z, 0-9 or _"
    if name.endswith("_") or "__" in name:
        return "a component name has no trailing or doubled underscore"
    if keyword.iskeyword(name) or identifier(name) != name:
        return "the name is a Python keyword"
    if name in _SHADOWED or name in HDECOMP_PACKAGES or name in sys.stdlib_module_names:
        return f"`{name}` is a module name: a child file called {name}.py would shadow it"
    return None


def unique(base: str, used: set[str]) -> str:
    """`base`, or `base_1`, `base_2` … whichever is not in `used`; records the choice."""
    name, k = base, 0
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def _relative(path: str, prefix: str) -> str | None:
    if not prefix:
        return path
    if path == prefix:
        return ""
    if path.startswith(prefix + "."):
        return path[len(prefix) + 1:]
    return None


def module_prefix(ir: IR, comp: Component) -> str:
    """The module path a component's local names are relative to."""
    if comp.origin in ("kernel-module", "kernel-semantic", "layer-module"):
        return comp.module_path or ""
    if comp.origin == "root":
        return ""
    paths = []
    for node in ir.region(comp):
        stack = [p for _, p, _ in ir.module_stack(node)]
        paths.append(stack)
    common: list[str] = []
    for level in zip(*paths):
        if all(p == level[0] for p in level):
            common.append(level[0])
        else:
            break
    return common[-1] if common else ""


# --- builtin modules -------------------------------------------------------------------------

def module_repr(ir: IR, path: str) -> str | None:
    """`nn.X(...)` source that rebuilds the builtin module at `path`, if its repr round-trips."""
    cache: dict[str, str | None] = ir.__dict__.setdefault("_repr_cache", {})
    if path in cache:
        return cache[path]
    result = None
    model = ir.traced.model
    try:
        mod = model.get_submodule(path) if model is not None else None
    except AttributeError:
        mod = None
    if mod is not None and type(mod).__module__.startswith("torch.nn.modules"):
        text = repr(mod)
        if "\n" not in text:
            try:
                with torch.device("meta"):
                    rebuilt = eval("nn." + text, {"nn": nn})  # our own repr of a torch builtin
                same = repr(rebuilt) == text and [
                    (n, tuple(p.shape), p.dtype) for n, p in rebuilt.named_parameters()] == [
                    (n, tuple(p.shape), p.dtype) for n, p in mod.named_parameters()]
                if same:
                    result = "nn." + text
            except Exception:
                result = None
    cache[path] = result
    return result


def call_module_path(ir: IR, kernel: Component) -> str | None:
    """The module a kernel is one call of: its own module, or for a model that is one builtin
    call (the root is then the kernel) the module all its nodes run in."""
    if kernel.origin == "kernel-module" and kernel.module_path:
        return kernel.module_path
    if kernel is not ir.root or not kernel.is_kernel:
        return None
    paths = set()
    for node in ir.region(kernel):
        stack = ir.module_stack(node)
        paths.add(stack[-1][1] if stack else "")
    return paths.pop() if len(paths) == 1 and "" not in paths else None


def module_call_form(ir: IR, kernel: Component) -> bool:
    """Can a builtin kernel be rendered as `y = self.m(x)` (one tensor in, one tensor out), or as
    a recurrent module's call (`output, h_n = self.gru(x, h0)`, see `recurrent_call`)?"""
    path = call_module_path(ir, kernel)
    if path is None or module_repr(ir, path) is None:
        return False
    if recurrent_call(ir, kernel) is not None:
        return True
    if kernel.origin != "kernel-module":
        return False
    ins, outs = ir.inputs(kernel), ir.outputs(kernel)
    if len(ins) != 1 or len(outs) != 1:
        return False
    in_t, out_t = value_type(ins[0]), value_type(outs[0])
    if not isinstance(in_t, TensorType) or not isinstance(out_t, TensorType):
        return False
    cache: dict[tuple, bool] = ir.__dict__.setdefault("_call_form_cache", {})
    key = (path, in_t, out_t)
    if key not in cache:
        cache[key] = _called_alone(ir.traced.model.get_submodule(path),  # type: ignore[union-attr]
                                   in_t, out_t, ir.traced.meta_calls)
    return cache[key]


# What a recurrent module returns, by the flat outputs of its aten op: GRU/RNN (output, h_n),
# LSTM (output, (h_n, c_n)) where aten.lstm returns (output, h_n, c_n).
_RECURRENT_RESULTS = {"lstm": ("output", ("h_n", "c_n"))}
_RECURRENT_MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}


def recurrent_call(ir: IR, kernel: Component) -> tuple[fx.Node, Any] | None:
    """(the recurrent aten node, the module's result structure of output names) when a kernel is
    exactly one call of an nn.GRU / nn.LSTM / nn.RNN on a batched sequence, so that its file can
    hold the module itself (`nn.GRU(128, 256, num_layers=3)`) instead of 4 weights per layer and
    a flat torch.gru call."""
    path = call_module_path(ir, kernel)
    model = ir.traced.model
    compute = ir.compute_nodes(kernel)
    if path is None or model is None or len(compute) != 1:
        return None
    node = compute[0]
    name = ir.info(node).name
    if name not in RECURRENT_NAMES or getattr(node.target, "_overloadname", "") != "input":
        return None
    mod = model.get_submodule(path)
    if type(mod) is not _RECURRENT_MODULES[name]:
        return None
    x, hx, params, has_biases, layers, _dropout, _train, bidirectional, batch_first = node.args
    x_t = value_type(x) if isinstance(x, fx.Node) else None
    flat = [ir.weight_fqn(p) if isinstance(p, fx.Node) else None for p in params]
    if not isinstance(x_t, TensorType) or len(x_t.shape) != 3 or \
            flat != [f"{path}.{w}" for w in mod._flat_weights_names] or \
            (has_biases, layers, bidirectional, batch_first) != \
            (mod.bias, mod.num_layers, mod.bidirectional, mod.batch_first):
        return None
    for other in ir.region(kernel):
        if other is node or (other.target is operator.getitem and other.args[0] is node):
            continue
        if list(other.users) != [node] or not (is_default_state(other) or
                                               is_state_move(ir, other)):
            return None
    return node, _RECURRENT_RESULTS.get(name, ("output", "h_n"))


def is_state_move(ir: IR, node: fx.Node) -> bool:
    """An initial state the model keeps as a tensor of its own and moves before the call
    (`self.h0 = self.h0.to(x.device)`): plumbing on one of its weights or buffers, rendered
    before the module call (`h0 = self.h0.to(...)`), not part of the recurrent op."""
    if node.op != "call_function" or node in ir.compute:
        return False
    tensors = [a for a in node.args if isinstance(a, fx.Node)] + \
        [v for v in node.kwargs.values() if isinstance(v, fx.Node)]
    return bool(tensors) and all(ir.weight_fqn(t) is not None for t in tensors)


def is_default_state(node: fx.Node) -> bool:
    """A zeros initial state: what a recurrent module creates itself when called without one."""
    return node.op == "call_function" and getattr(node.target, "__name__", "") == "zeros.default"


def _called_alone(mod: nn.Module, in_t: TensorType, out_t: TensorType,
                  meta_calls: Callable[[], ContextManager[Any]]) -> bool:
    """Does `mod(x)` on the meta device map the kernel's input type to its output type?"""
    if any(b.dtype != in_t.dtype and b.is_floating_point() for b in mod.parameters()):
        return False
    try:
        with torch.no_grad(), meta_calls():
            out = mod(torch.empty(in_t.shape, dtype=in_t.dtype, device="meta"))
    except Exception:
        return False
    return isinstance(out, torch.Tensor) and tuple(out.shape) == out_t.shape and \
        out.dtype == out_t.dtype


def _module_rooted(ir: IR, comp: Component) -> bool:
    """Components that are a module call name their parts by module path; the others (fusions,
    layers cut from a run) by op, so equal structures get equal names wherever they sit."""
    return comp.origin in ("root", "layer-module", "kernel-module", "kernel-semantic")


def module_slots(ir: IR, comp: Component) -> dict[str, str]:
    """Builtin module path -> attribute name, for the modules a component's file instantiates."""
    prefix = module_prefix(ir, comp) if _module_rooted(ir, comp) else None
    slots: dict[str, str] = {}
    used: set[str] = set()
    for kernel in ir.kernels(comp):
        path = call_module_path(ir, kernel)
        if not path or module_repr(ir, path) is None:
            continue
        if path in slots:
            continue
        rel = _relative(path, prefix) if prefix is not None else None
        slots[path] = unique(identifier(rel) if rel else kernel_op_label(ir, kernel), used)
    return slots


def weight_names(ir: IR, comp: Component) -> dict[fx.Node, str]:
    """Weight placeholder -> how the component's file reaches it (`fc.weight`, `w`)."""
    prefix = module_prefix(ir, comp) if _module_rooted(ir, comp) else None
    slots = module_slots(ir, comp)
    out: dict[fx.Node, str] = {}
    used = set(slots.values())
    for node in ir.weights(comp):
        # A tied weight is reached under the name this component's own modules give it.
        names = ir.weight_aliases(node)
        owned = [(f.rsplit(".", 1)[0], f.rsplit(".", 1)[1]) for f in names if "." in f]
        slot = next(((owner, local) for owner, local in owned if owner in slots), None)
        if slot is not None:
            out[node] = f"{slots[slot[0]]}.{slot[1]}"
            continue
        rels = [r for f in names for r in [_relative(f, prefix) if prefix is not None else None] if r]
        out[node] = unique(identifier(rels[0] if rels else names[0].rsplit(".", 1)[-1]), used)
    return out


# --- kernel workloads and file names ---------------------------------------------------------

def kernel_op_label(ir: IR, kernel: Component) -> str:
    """The op a kernel performs: its one compute op, or its module class for multi-op kernels."""
    compute = ir.compute_nodes(kernel)
    if len(compute) == 1 and ir.info(compute[0]).name == "loop_region":
        return snake_case(ir.traced.loops[compute[0].args[1]].name)  # the looping function's
    if len(compute) == 1:
        return ir.info(compute[0]).name.lstrip("_")
    return snake_case(kernel.label)


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def _io_dtype(ir: IR, comp: Component) -> str:
    ins = [value_type(n) for n in ir.inputs(comp)]
    outs = [value_type(n) for n in ir.outputs(comp)]
    in_t = next((t for t in ins if isinstance(t, TensorType)), None)
    out_t = next((t for t in outs if isinstance(t, TensorType)), None)
    if in_t and out_t and in_t.dtype != out_t.dtype:
        return f"{dtype_code(in_t.dtype)}_{dtype_code(out_t.dtype)}"
    t = out_t or in_t
    return dtype_code(t.dtype) if t else "fp32"


def weight_signature(ir: IR, comp: Component) -> str:
    """Shape signature of the main weight: `768x3072` (in x out) for linear, + kernel size for conv."""
    weights = [w for w in ir.weights(comp) if ir.is_param(w)] or ir.weights(comp)
    if not weights:
        return ""
    main = next((w for w in weights if (ir.weight_fqn(w) or "").endswith("weight")), weights[0])
    t = value_type(main)
    if not isinstance(t, TensorType):
        return ""
    op = kernel_op_label(ir, comp) if comp.is_kernel else ""
    shape = t.shape
    if op in RECURRENT_NAMES:
        rnn = _rnn_signature(ir, comp)
        if rnn:
            return rnn
    if op in ("linear", "bilinear") and len(shape) == 2:
        return f"{shape[1]}x{shape[0]}"
    if op.startswith("conv") and len(shape) >= 3:
        c_out, c_in = (shape[1], shape[0]) if "transpose" in op else (shape[0], shape[1])
        return f"{c_in}x{c_out}_{_dims(shape[2:])}"
    return _dims(shape)


def _rnn_signature(ir: IR, comp: Component) -> str:
    """`128x256_3layers_bidirectional`: input x hidden size, and the layers and directions,
    which the first weight's shape alone does not tell (three stacked GRUs are not one)."""
    node = next((n for n in ir.compute_nodes(comp)
                 if getattr(n.target, "__name__", "").split(".")[0] in RECURRENT_NAMES), None)
    if node is None or len(node.args) < 8 or not isinstance(node.args[2], (list, tuple)) \
            or len(node.args[2]) < 2:
        return ""
    w_ih, w_hh = (value_type(a) for a in node.args[2][:2])  # type: ignore[arg-type]
    if not isinstance(w_ih, TensorType) or not isinstance(w_hh, TensorType):
        return ""
    layers, bidirectional = node.args[4], node.args[7]
    parts = [f"{w_ih.shape[1]}x{w_hh.shape[1]}"]
    if isinstance(layers, int) and layers > 1:
        parts.append(f"{layers}layers")
    if bidirectional is True:
        parts.append("bidirectional")
    return "_".join(parts)


def kernel_stem(ir: IR, kernel: Component) -> str:
    """`{op}_{shape signature}_{dtype}` of the specification (`linear_768x3072_fp32`).

    Weighted ops are named by their weight; elementwise ops without weights by op and dtype only
    (`relu_fp32`); other weightless ops (matmul, softmax, reductions) by their input shapes.
    """
    parts = [kernel_op_label(ir, kernel), _workload_signature(ir, kernel), _io_dtype(ir, kernel)]
    return identifier("_".join(p for p in parts if p))


def _workload_signature(ir: IR, kernel: Component) -> str:
    """The shape part of a kernel's name: its weight, else (matmuls, reductions) its inputs.
    A rotary embedding is named by its head size: its cos and sin tables are positions x head
    size, and the positions are the sequence (which names omit)."""
    if kernel.origin == "kernel-pattern" and kernel.label == "rotary_embedding":
        shapes = [value_type(n) for n in ir.inputs(kernel)]
        tensor = next((t for t in shapes if isinstance(t, TensorType) and t.shape), None)
        if tensor is not None:
            return str(tensor.shape[-1])
    sig = weight_signature(ir, kernel)
    if not sig:
        pats = [ir.info(n).pattern for n in ir.compute_nodes(kernel)]
        if pats and max(pats) > Pattern.BROADCAST:
            shapes = [value_type(n) for n in ir.inputs(kernel)]
            sig = "_".join(_dims(t.shape) for t in shapes if isinstance(t, TensorType))
    return sig


# Arithmetic that joins two activations inside a group (a residual add between a norm and its
# ReLU): plumbing by the policy, but it changes the workload, so the group's name says it.
_JOINING_OPS = frozenset({"add", "sub", "mul", "div"})


def _joins_activations(ir: IR, node: fx.Node) -> bool:
    if node.op != "call_function" or ir.info(node).name not in _JOINING_OPS:
        return False
    tensors = [a for a in node.args if isinstance(a, fx.Node)
               and isinstance(value_type(a), TensorType) and ir.weight_fqn(a) is None]
    return len(tensors) >= 2


def _chain_ops(ir: IR, comp: Component) -> list[str]:
    """The ops a group chains, in order: each kernel's op, and the arithmetic between
    activations that the group holds outside its kernels (`conv2d_batch_norm_add_relu`)."""
    kernels = ir.kernels(comp)
    starts = {k.start: k for k in kernels}
    inside = {i for k in kernels for i in range(k.start, k.end + 1)}
    out = []
    for i in range(comp.start, comp.end + 1):
        if i in starts:
            out.append(kernel_op_label(ir, starts[i]))
        elif i not in inside and _joins_activations(ir, ir.ops[i]):
            out.append(ir.info(ir.ops[i]).name)
    return out


def group_stem(ir: IR, comp: Component) -> str:
    """File stem of a fusion or layer: its module class, or the ops it chains, plus its anchor
    (the first weighted kernel, else the first matmul or reduction, by input shapes)."""
    if comp.origin == "layer-module" and comp.module_class:
        base = snake_case(comp.module_class.rsplit(".", 1)[-1])
    elif comp.origin == "fusion-pattern":
        base = comp.label  # the pattern: attention, swiglu
    else:
        ops = list(dict.fromkeys(_chain_ops(ir, comp)))
        base = "_".join(ops[:4]) + ("_etc" if len(ops) > 4 else "")
    kernels = ir.kernels(comp)
    sig = next((s for k in kernels for s in [weight_signature(ir, k)] if s), "") or \
        next((s for k in kernels for s in [_workload_signature(ir, k)] if s), "")
    if comp.origin == "fusion-pattern" and comp.label == "attention":
        sig = _workload_signature(ir, kernels[0])  # the scores' q and k, not a mask buffer
    parts = [base, sig, _io_dtype(ir, comp)]
    return identifier("_".join(p for p in parts if p))


def canonical(ir: IR, comp: Component) -> str:
    """Canonical text of a component's code: ops, arguments, local names; no provenance.

    Values are renamed by position, so two components with the same text generate the same file.
    Children appear by their keys, which must be set first (dedup_workloads goes children first).
    """
    slots = module_slots(ir, comp)
    wnames = weight_names(ir, comp)
    lines = [f"level {comp.level.label}"]
    for path, slot in slots.items():
        lines.append(f"module {slot} = {module_repr(ir, path)}")
    for node, name in wnames.items():
        if "." not in name:
            lines.append(f"weight {name} {value_type(node)} {_weight_kind(ir, node)}")
    if comp.is_kernel and (weight_signature(ir, comp) or any(
            ir.info(n).pattern > Pattern.BROADCAST for n in ir.compute_nodes(comp))):
        # Matmuls, convolutions, softmaxes and reductions are workloads of their input shapes
        # (one conv at 8x8 and at 4x4 is two workloads, and each file holds its exact shape);
        # a weightless elementwise op is one file whatever it runs on.
        lines.append("inputs " + ", ".join(str(value_type(n)) for n in ir.inputs(comp)))
    ids: dict[fx.Node, str] = {n: f"in{i}" for i, n in enumerate(ir.inputs(comp))}
    ids.update(wnames)
    skip: set[fx.Node] = set()
    for kernel in ir.kernels(comp):
        if kernel is not comp and module_call_form(ir, kernel):
            skip.update(ir.region(kernel))
            outs = []
            for out in ir.outputs(kernel):
                ids[out] = f"%{len(ids)}"
                outs.append(ids[out])
            ins = ", ".join(ids.get(n, "?") for n in ir.inputs(kernel))
            lines.append(f"{','.join(outs)} = call {slots[call_module_path(ir, kernel)]}({ins})")
    if comp.is_kernel and module_call_form(ir, comp):
        lines.append(f"call {slots[call_module_path(ir, comp)]}")
    else:
        for node in ir.region(comp):
            if node in skip:
                continue
            ids[node] = f"%{len(ids)}"
            args = _canon_arg(node.args, ids)
            kwargs = _canon_arg(dict(sorted(node.kwargs.items())), ids)
            lines.append(f"{ids[node]} = {node.target}{args} {kwargs}")
    lines.append("return " + ", ".join(ids.get(n, "?") for n in ir.outputs(comp)))
    for child in comp.children:
        lines.append(f"child {child.level.label} {child.start - comp.start}..{child.end - comp.start} "
                     f"{child.key}")
    return "\n".join(lines)


def _weight_kind(ir: IR, node: fx.Node) -> str:
    t = ir.traced
    if node.name in t.param_targets:
        return "param"
    if node.name in t.buffer_targets:
        return "buffer" if t.persistent.get(t.buffer_targets[node.name], True) else "buffer-np"
    return "constant"


def _canon_arg(value: Any, ids: dict[fx.Node, str]) -> str:
    if isinstance(value, fx.Node):
        return ids.get(value, f"?{value.name}")
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_canon_arg(v, ids) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_canon_arg(v, ids)}" for k, v in value.items()) + "}"
    if isinstance(value, torch.device):
        return "DEVICE"
    return repr(value)


def key_of(text: str) -> str:
    """Short stable hash of a canonical text."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _anchor_node(ir: IR, comp: Component) -> fx.Node | None:
    """The op that defines a component's workload: a kernel's first compute op, a group's first
    weighted kernel's (else its first kernel's)."""
    kernels = ir.kernels(comp) if not comp.is_kernel else [comp]
    weighted = [k for k in kernels if weight_signature(ir, k)]
    for k in weighted + kernels:
        compute = ir.compute_nodes(k)
        if compute:
            return compute[0]
    return None


def variant_details(ir: IR, comp: Component) -> list[str]:
    """Readable ways to tell apart workloads the naming rules name alike, most telling first:
    the anchor's stride (`s2`), its input's spatial size (`28x28`), its input's shape but the
    batch (`16x256x64`); "" where a component has the common value."""
    node = _anchor_node(ir, comp)
    stride, spatial, shape = "", "", ""
    if node is not None:
        name = ir.info(node).name
        pos = 3 if name.startswith("conv") else 2 if "pool" in name else None
        if pos is not None and len(node.args) > pos and isinstance(node.args[pos], (list, tuple)) \
                and any(v != 1 for v in node.args[pos]):
            values = list(dict.fromkeys(node.args[pos]))
            stride = "s" + "x".join(str(v) for v in values)
        x = node.args[0] if node.args and isinstance(node.args[0], fx.Node) else None
        t = value_type(x) if x is not None else None
        if isinstance(t, TensorType) and len(t.shape) >= 3:
            spatial = _dims(t.shape[2:])
        if isinstance(t, TensorType) and len(t.shape) >= 2:
            shape = _dims(t.shape[1:])  # all but the batch, which names never carry
    return [stride, spatial, shape]
