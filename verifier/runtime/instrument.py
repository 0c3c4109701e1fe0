"""Run-time instruments: where execution is, what it computes, what it touches.

- `Scope` keeps a stack of frames pushed by module forward hooks: a CHILD frame for each call of
  a module whose class comes from children/, BUILTIN frames for torch.nn leaf modules and
  SEMANTIC frames for custom modules without submodules inside a child.
- `OpCounter` (a TorchFunctionMode) counts logical ops per child call: a builtin leaf module is
  one op, a module or kernel whose ops compute one function of the policy's table
  (`semantic_function`: a norm, a GELU, a softmax … recognised on its ops, never by its name)
  or one loop over time (`loop_steps`: a body repeated step after step, as a scan) is one op,
  otherwise each call `counts_as_op` says is one. What counts and the table are
  `hdecomp_ir.policy`'s rules, the ones the generator applies.
- `RefactoredGuard` (a TorchDispatchMode) judges every aten op that runs outside all CHILD
  frames against the op table, whatever Python syntax produced it, and notes random ops.
- `OriginalRecorder` (a TorchDispatchMode) notes which parameters the original's forward reads,
  its random ops and, for one trial, a fingerprint of every intermediate value.
- `MemoryTracker` measures the peak of live intermediate bytes of a forward on the meta device.

Everything here runs in the worker process. The verifier's own tensor work inside hooks is
wrapped in `Scope.internal()` so the instruments do not judge themselves.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from hdecomp_ir.policy import (ANCHOR_NAMES, CONSTANT_FACTORY_NAMES, OpKind, counts_as_op, is_anchor,
                               is_builtin_leaf, is_compute_in_parent, is_plumbing_exponent, is_semantic_module, op_info,
                               COMPOSITE_FUNCTIONS, WEIGHT_SUFFIX, loop_steps, op_token, semantic_function)
from verifier.static.classify import (ESCAPE_NAMES, callable_name, info_for_callable,
                                      is_view_callable)

CHILD, BUILTIN, SEMANTIC = "child", "builtin", "semantic"
# Inside a child, Python's number conversions take values out too (`float(y[i])`).
CHILD_ESCAPE_NAMES = ESCAPE_NAMES | {"__float__", "__int__", "__complex__"}
FINGERPRINT_SAMPLES = 32


@dataclass
class Frame:
    """One module call in progress."""

    kind: str
    name: str
    cls: str
    file: str | None = None
    level: str | None = None
    ops: list[str] = field(default_factory=list)
    # `ops` as `semantic_function` reads them (`op_token`: arithmetic on a weight marked)
    tokens: list[str] = field(default_factory=list)
    anchors: int = 0
    compute_seen: bool = False
    anchor_seen: bool = False
    # a builtin's own matmuls between weights (nn.Linear on a constant table: SwinV2's
    # position-bias MLP), recorded as `<op>@w` like any child's
    weight_anchors: list[str] = field(default_factory=list)


@dataclass
class ChildCall:
    """A finished call of a child module and the logical ops it performed."""

    name: str
    file: str | None
    level: str | None
    index: int
    ops: list[str]
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"child": self.name, "file": self.file, "level": self.level, "call": self.index,
                "ops": self.ops, "count": self.count}


class Scope:
    """The frame stack and what was recorded in it."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.child_depth = 0
        self._internal = 0
        self.calls: list[ChildCall] = []
        self.on_child_exit: Callable[[Frame, Any], None] | None = None
        # Storage keys of the model's parameters: plumbing or arithmetic on a weight is an op.
        self.param_keys: set[int] = set()
        # Storage keys of buffers and of values computed from weights and buffers alone: such
        # input-independent preprocessing (-exp(A_log), mask == 0) is no op of its own.
        self.weight_keys: set[int] = set()
        # Tensors a child call returned (and the parent's views of them): a child may return its
        # own parameter (a cls token, a position table) for the parent to assemble.
        # Keyed by id and checked by identity: a WeakSet would compare tensors with `==`.
        self.returned: dict[int, weakref.ref] = {}

    @property
    def busy(self) -> bool:
        """True while the verifier's own code runs tensor ops."""
        return self._internal > 0

    @contextlib.contextmanager
    def internal(self) -> Iterator[None]:
        self._internal += 1
        try:
            yield
        finally:
            self._internal -= 1

    def push(self, frame: Frame) -> None:
        self.frames.append(frame)
        if frame.kind == CHILD:
            self.child_depth += 1

    def pop(self, frame: Frame, output: Any) -> None:
        # A frame left by an exception inside a hookless call may sit above ours: unwind to it.
        while self.frames:
            top = self.frames.pop()
            if top.kind == CHILD:
                self.child_depth -= 1
            if top is frame:
                break
        parent = self.frames[-1] if self.frames else None
        if frame.kind == BUILTIN:
            if frame.compute_seen and parent is not None:
                parent.ops.append(frame.cls)
                parent.tokens.append(frame.cls)
                parent.anchors += int(frame.anchor_seen)
            elif frame.weight_anchors and parent is not None:
                parent.ops.extend(frame.weight_anchors)
                parent.tokens.extend(frame.weight_anchors)
                parent.anchors += len(frame.weight_anchors)
        elif frame.kind == SEMANTIC:
            if parent is not None:
                function = semantic_function(frame.tokens, frame.anchors)
                if function is not None and len(frame.tokens) > 1:
                    parent.ops.append(function)
                    parent.tokens.append(function)
                else:
                    parent.ops.extend(frame.ops)
                    parent.tokens.extend(frame.tokens)
                parent.anchors += frame.anchors
        elif frame.kind == CHILD:
            if self.child_depth == 0:
                self.mark_returned(leaves_of(output))
            # A kernel is one op, or one function of the policy's table recognised on its ops
            # (whatever the file is called); a fusion's ops count.
            semantic_ok = frame.level == "kernel" and (
                semantic_function(frame.tokens, frame.anchors) is not None
                or loop_steps(frame.tokens) > 0)
            count = 1 if semantic_ok else len(frame.ops)
            self.calls.append(ChildCall(frame.name, frame.file, frame.level, len(self.calls),
                                        list(frame.ops), count))
            if self.on_child_exit is not None:
                with self.internal():
                    self.on_child_exit(frame, output)

    def mark_returned(self, tensors: Any) -> None:
        """Remember tensors as a child's output (see `returned`)."""
        for tensor in tensors:
            self.returned[id(tensor)] = weakref.ref(tensor)

    def is_returned(self, tensor: torch.Tensor) -> bool:
        """Whether `tensor` is (a view of) a value a child returned to the parent."""
        ref = self.returned.get(id(tensor))
        return ref is not None and ref() is tensor

    def innermost(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def weight_only(self, args: tuple, kwargs: dict) -> bool:
        """Whether every tensor operand is a weight, a buffer or computed from those alone."""
        tensors = [a for a in tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
        return bool(tensors) and all(storage_key(t) in self.weight_keys for t in tensors)

    def note_weight_values(self, out: Any) -> None:
        """Remember the storages of values computed from weights alone."""
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                key = storage_key(leaf)
                if key is not None:
                    self.weight_keys.add(key)

    def count_call(self, func: Any, args: tuple, kwargs: dict) -> None:
        """Attribute one torch-level call to the innermost counting frame."""
        frame = self.innermost()
        if frame is None:
            return
        info = info_for_callable(func)
        if self.weight_only(args, kwargs):
            # Input-independent preprocessing of weights (-exp(A_log), mask == 0) is no op of
            # its own, but a matmul or conv between weights is: `x @ (w1 @ w2)` is two linear
            # layers merged into one kernel. It is recorded as `<op>@w` (WEIGHT_SUFFIX), so the
            # verdict can tell it from an anchor on activations (an original that combines
            # weights itself, LoRA's `w + b @ a`, makes it honest).
            # Only a matmul/conv-like anchor merges layers; a norm of a weight (weight_norm's
            # norm_except_dim) is preprocessing like the rest.
            if info is None or info.name not in ANCHOR_NAMES or info.kind is not OpKind.COMPUTE:
                return
            if frame.kind == BUILTIN:
                frame.weight_anchors.append(info.name + WEIGHT_SUFFIX)
                return
            frame.ops.append(info.name + WEIGHT_SUFFIX)
            frame.tokens.append(info.name + WEIGHT_SUFFIX)
            frame.anchors += 1
            return
        if frame.kind == BUILTIN:
            if info is not None and info.kind is OpKind.COMPUTE:
                frame.compute_seen = True
                frame.anchor_seen |= is_anchor(info)
            return
        if info is None:
            return
        composite = COMPOSITE_FUNCTIONS.get(callable_name(func))
        if composite is not None:
            # One call that runs several ops out of the mode's sight: count what it performs.
            frame.ops.extend(composite)
            frame.tokens.extend(composite)
            frame.anchors += sum(1 for name in composite if name in ("linear", "bmm"))
            return
        tensors = [a for a in tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
        on_weight = any(storage_key(t) in self.param_keys for t in tensors)
        if info.kind is not OpKind.COMPUTE:
            # Plumbing and scaling by a constant are free; arithmetic between two tensors, and
            # any data-moving op on a weight (cat with a cls token), is an op of this child.
            is_view = info.kind is OpKind.PLUMBING and on_weight and is_view_callable(func)
            if not counts_as_op(info.kind, reads_weight=on_weight, is_view=is_view,
                                tensor_operands=sum(1 for t in tensors if t.dim() > 0)):
                return
        frame.ops.append(info.name)
        frame.tokens.append(op_token(info.name, reads_weight=on_weight))
        frame.anchors += int(is_anchor(info))


def attach_hooks(model: torch.nn.Module, scope: Scope,
                 classify: Callable[[str, torch.nn.Module, bool], Frame | None]) -> list[Any]:
    """Register pre/post forward hooks that push and pop frames; returns the handles.

    `classify(name, module, inside_child)` returns a frame template or None (no frame).
    """
    handles: list[Any] = []

    def visit(prefix: str, module: torch.nn.Module, inside_child: bool) -> None:
        template = classify(prefix, module, inside_child)
        if template is not None:
            handles.extend(_hook(module, scope, template))
        now_inside = inside_child or (template is not None and template.kind == CHILD)
        if template is not None and template.kind == BUILTIN:
            return
        for name, sub in module.named_children():
            visit(f"{prefix}.{name}" if prefix else name, sub, now_inside)

    visit("", model, False)
    return handles


def _hook(module: torch.nn.Module, scope: Scope, template: Frame) -> list[Any]:
    stack: list[Frame] = []

    def pre(mod: torch.nn.Module, args: Any) -> None:
        frame = Frame(template.kind, template.name, template.cls, template.file, template.level)
        stack.append(frame)
        scope.push(frame)

    def post(mod: torch.nn.Module, args: Any, output: Any) -> None:
        if stack:
            scope.pop(stack.pop(), output)

    return [module.register_forward_pre_hook(pre),
            module.register_forward_hook(post, always_call=True)]


def frame_for(name: str, module: torch.nn.Module, inside_child: bool) -> Frame | None:
    """Frames inside a child (or inside the original): builtin leaves and semantic modules."""
    if not inside_child:
        return None
    cls = type(module).__name__
    if is_builtin_leaf(module):
        return Frame(BUILTIN, name, f"nn.{cls}")
    qualname = f"{type(module).__module__}.{type(module).__qualname__}"
    # Any custom module without submodules: whether its ops make one function is read off
    # them when it returns (`Scope.pop`).
    if is_semantic_module(qualname, has_submodules=any(True for _ in module.children())):
        return Frame(SEMANTIC, name, cls)
    return None


class OpCounter(TorchFunctionMode):
    """Counts logical ops inside frames; outside children it flags escapes to Python."""

    def __init__(self, scope: Scope, on_escape: Callable[[str], None] | None = None,
                 on_child_escape: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.scope = scope
        self.on_escape = on_escape
        # Inside a child: floating-point values taken out to Python (`.tolist()`, `.item()`)
        # are computed on where no counter sees it, then put back as a "constant".
        self.on_child_escape = on_child_escape

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if self.scope.busy:
            return func(*args, **kwargs)
        if self.scope.child_depth == 0 and self.on_escape is not None:
            name = callable_name(func)
            if name in ESCAPE_NAMES:
                self.on_escape(name)
        elif self.scope.child_depth > 0 and self.on_child_escape is not None:
            name = callable_name(func)
            if name in CHILD_ESCAPE_NAMES and self._escapes_values(args):
                self.on_child_escape(name)
        self.scope.count_call(func, args, kwargs)
        weight_only = self.scope.weight_only(args, kwargs)
        out = func(*args, **kwargs)
        if weight_only:
            self.scope.note_weight_values(out)
        return out


    def _escapes_values(self, args: tuple) -> bool:
        """Whether an escape call takes activation values out: a floating-point tensor that is
        not a weight (integer lengths and indices for packing are honest)."""
        tensors = [a for a in tree_leaves(args) if isinstance(a, torch.Tensor)]
        return any(t.is_floating_point() and storage_key(t) not in self.scope.weight_keys
                   for t in tensors)


def storage_key(tensor: torch.Tensor) -> int | None:
    """Identity of a tensor's storage (views share it); None where there is none."""
    try:
        ptr = tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None
    return ptr or None


def source_location(roots: list[Path]) -> tuple[str | None, int | None, str | None]:
    """The innermost stack frame in one of `roots`' files: (path, line, source text)."""
    return locate(traceback.extract_stack(), roots)


def locate(frames: traceback.StackSummary,
           roots: list[Path]) -> tuple[str | None, int | None, str | None]:
    """The innermost of `frames` in one of `roots`' files: (relative path, line, source text)."""
    for entry in reversed(frames):
        path = Path(entry.filename)
        for root in roots:
            try:
                rel = path.resolve().relative_to(root)
            except (ValueError, OSError):
                continue
            return rel.as_posix(), entry.lineno, (entry.line or "").strip()
    return None, None, None


class RefactoredGuard(TorchDispatchMode):
    """Judges aten ops outside children; records random ops everywhere."""

    def __init__(self, scope: Scope, param_keys: dict[int, str], roots: list[Path]) -> None:
        super().__init__()
        self.scope = scope
        self.param_keys = param_keys
        self.roots = roots
        self.violations: dict[tuple, dict[str, Any]] = {}
        self.random_ops: list[str] = []
        # Provenance, followed through every op (inside children too, where laundering happens):
        # storages of values derived from a parameter alone (`w.clone()`, `buf.copy_(w)`), with
        # the parameter's name, and storages of constants (buffers, factory results and values
        # built from those alone: a causal mask). The tensors are held so that a freed storage's
        # address is never reused by an activation during the run.
        self.derived: dict[int, str] = {}
        self.constant: set[int] = set(scope.weight_keys) - set(param_keys)
        self._held: list[torch.Tensor] = []
        self._names: dict[Any, str] = {}   # op name per overload: _follow runs on every op

    def report(self, rule: str, op: str, message: str) -> None:
        file, line, text = source_location(self.roots)
        key = (rule, op, file, line)
        entry = self.violations.get(key)
        if entry is None:
            self.violations[key] = {"rule": rule, "op": op, "file": file, "line": line,
                                    "code": text, "message": message, "count": 1}
        else:
            entry["count"] += 1

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if self.scope.busy:
            return func(*args, **kwargs)
        if torch.Tag.nondeterministic_seeded in func.tags:
            self.random_ops.append(str(func))
        tensors = [leaf for leaf in tree_leaves((args, kwargs)) if isinstance(leaf, torch.Tensor)]
        keys = [storage_key(t) for t in tensors]
        if self.scope.child_depth == 0:
            self._judge(func, args, tensors, keys)
        out = func(*args, **kwargs)
        self._follow(func, tensors, keys, out)
        return out

    def _is_mask(self, tensor: torch.Tensor) -> bool:
        """Whether a constant holds only 0 and 1 (a bool mask, `tril(ones)`)."""
        if tensor.dtype is torch.bool:
            return True
        if tensor.device.type == "meta" or tensor.is_complex():
            return False
        with self.scope.internal():
            return bool(((tensor == 0) | (tensor == 1)).all())

    def _origin(self, key: int | None) -> str | None:
        """The parameter a storage is, or is derived from alone; None for any other value."""
        if key is None:
            return None
        return self.param_keys.get(key) or self.derived.get(key)

    def _follow(self, func: Any, tensors: list[torch.Tensor], keys: list[int | None],
                out: Any) -> None:
        """Propagate provenance to an op's outputs (and to an in-place op's destination)."""
        name = self._names.get(func)
        if name is None:
            name = self._names[func] = op_info(func).name
        origins = [self._origin(k) for k in keys]
        mark: str | None = None                         # an activation
        if torch.Tag.nondeterministic_seeded in func.tags:
            pass                                        # a random draw is no constant
        elif name in CONSTANT_FACTORY_NAMES or all(k in self.constant for k in keys):
            mark = ""                                   # a constant
        elif all(o is not None or k in self.constant for o, k in zip(origins, keys)):
            mark = next(o for o in origins if o is not None)   # a parameter's value, laundered
        if mark is None:
            if func._schema.is_mutable and keys:
                # an activation written into a buffer (`buf.copy_(q)`) is no constant any more
                self.constant.discard(keys[0])
                self.derived.pop(keys[0], None)
            return
        outs = [leaf for leaf in tree_leaves(out) if isinstance(leaf, torch.Tensor)]
        if self.scope.child_depth == 0 and any(self.scope.is_returned(t) for t in tensors):
            # a view of a child's returned parameter is still the child's output
            self.scope.mark_returned([o for o in outs if storage_key(o) in keys])
        if mark and func._schema.is_mutable and tensors:
            outs.append(tensors[0])                     # `buffer.copy_(weight)`
        for leaf in outs:
            key = storage_key(leaf)
            if key is None or key in self.param_keys:
                continue
            if mark:
                self.derived[key] = mark
                self.constant.discard(key)
            elif key not in self.derived:
                self.constant.add(key)
            self._held.append(leaf)

    def _judge(self, func: Any, args: tuple, tensors: list[torch.Tensor],
               keys: list[int | None]) -> None:
        info = op_info(func)
        # A compute op is reported as such whatever it reads; other ops name the weight that
        # made them compute.
        param = None
        if info.kind is not OpKind.COMPUTE:
            param = next((self.param_keys[k] for t, k in zip(tensors, keys)
                          if k in self.param_keys and not self.scope.is_returned(t)), None)
        constant = [k in self.constant for k in keys]
        if info.kind is OpKind.ARITH:
            # A product with a constant is plumbing only when the constant is a mask: a constant
            # table (cos/sin, a buffer of scales) times an activation is a computation.
            constant = [c and (t.dim() == 0 or self._is_mask(t)) for t, c in zip(tensors, constant)]
        activations = sum(1 for t, c in zip(tensors, constant) if not c and t.dim() > 0)
        scalar_exponent = len(args) >= 2 and is_plumbing_exponent(args[1])
        if not is_compute_in_parent(info.kind, reads_weight=param is not None, name=info.name,
                                    activations=activations,
                                    constant_inputs=bool(tensors) and all(constant),
                                    scalar_exponent=scalar_exponent):
            return
        derived = next((self._origin(k) for k in keys if self._origin(k) is not None), None)
        if param is None and derived is not None:
            self.report("parameter_outside_child", str(func),
                        f"{func} uses a value derived from parameter '{derived}' (a clone, copy "
                        "or buffer of it) outside its child: a child's weights are used only "
                        "by that child")
        elif param is None:
            self.report("compute_outside_child", str(func),
                        f"{func} ran outside every child module: move this computation into a child")
        else:
            self.report("parameter_outside_child", str(func),
                        f"{func} uses parameter '{param}' outside its child: "
                        "a child's weights are used only by that child")


class OriginalRecorder(TorchDispatchMode):
    """What the original's forward reads, draws at random and produces along the way."""

    def __init__(self, scope: Scope, param_keys: dict[int, str]) -> None:
        super().__init__()
        self.scope = scope
        self.param_keys = param_keys
        self.used: set[str] = set()
        self.random_ops: list[str] = []
        self.fingerprints: list[dict[str, Any]] | None = None

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.scope.busy:
            return out
        for leaf in tree_leaves((args, kwargs)):
            if isinstance(leaf, torch.Tensor):
                key = storage_key(leaf)
                if key is not None and key in self.param_keys:
                    self.used.add(self.param_keys[key])
        if torch.Tag.nondeterministic_seeded in func.tags:
            self.random_ops.append(str(func))
        if self.fingerprints is not None:
            for leaf in tree_leaves(out):
                fp = fingerprint(leaf)
                if fp is not None:
                    self.fingerprints.append(fp)
        return out


def fingerprint(value: Any) -> dict[str, Any] | None:
    """Shape, dtype and a fixed sample of values, enough to recognise a tensor again."""
    if not isinstance(value, torch.Tensor) or value.numel() == 0 or value.is_complex() or \
            value.device.type == "meta":
        return None
    if not value.is_floating_point():
        return None
    flat_index = torch.linspace(0, value.numel() - 1, steps=min(FINGERPRINT_SAMPLES, value.numel()))
    flat_index = flat_index.round().long()
    data = value.detach()
    if data.dim() == 0:
        samples = data.reshape(1)
    else:
        coords = torch.unravel_index(flat_index.to(data.device), data.shape)
        samples = data[coords]
    return {"shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", ""),
            "samples": samples.to("cpu", torch.float64)}


class MemoryTracker(TorchDispatchMode):
    """Peak bytes of live intermediate values during a forward on the meta device."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0

    def _free(self, nbytes: int) -> None:
        self.live -= nbytes

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        returns = func._schema.returns
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for index, value in enumerate(outs):
            aliased = index < len(returns) and returns[index].alias_info is not None
            if isinstance(value, torch.Tensor) and not aliased:
                nbytes = value.numel() * value.element_size()
                self.live += nbytes
                self.peak = max(self.peak, self.live)
                weakref.finalize(value, self._free, nbytes)
        return out


def leaves_of(value: Any) -> list[torch.Tensor]:
    """Tensor leaves of a nested output."""
    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, torch.Tensor)]


def module_file(module: torch.nn.Module) -> str | None:
    """The file that defines a module's class, if it was loaded from a file."""
    mod = sys.modules.get(type(module).__module__)
    path = getattr(mod, "__file__", None)
    return str(Path(path).resolve()) if path else None
