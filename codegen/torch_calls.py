"""From an aten overload to the call a person writes: `torch.softmax(x, dim=-1)`, `x.to(dtype)`,
`F.gelu(x, approximate="tanh")`, `x[..., :64]`, never `torch.ops.aten.<op>.<overload>(...)`.

Generated files are read by people and checked by allow-list source rules that refuse `torch.ops`,
so every traced op is written through a public binding. The choice is driven by the op's schema:

1. a few ops have their own form (`SPECIAL`): slicing, selecting and advanced indexing as
   subscripts, comparisons as operators (`bias == 0`), `alias` as the value itself,
   `_assert_tensor_metadata` dropped (a check that computes nothing),
   `F.embedding(indices, weight)` whose argument order differs from aten's, `torch.einsum` (it
   takes `*args`), `-x`, `x.T`;
2. otherwise the first public binding that takes the schema's arguments: a method for in-place ops
   and a few idiomatic ones, `torch.nn.functional.<name>` for the nn ops, `torch.<name>`,
   `torch.linalg.<name>`, the Tensor method. C bindings (argument parser generated from the same
   schema) take every schema argument by position and by name; a Python wrapper (`F.silu`,
   `torch.split`) is matched on its signature's parameter names (`RENAMES` covers the few that
   differ), and an argument it cannot take must be at the schema default;
3. no binding: the one-line UserInputError, naming the op.

Positional arguments are written up to the first one left at its default or named like a keyword
(`dim`, `keepdim`, `eps`, ...); the rest by name, and only where they differ from the default.
`tests/test_torch_calls.py` runs every form against its aten overload on random inputs, bitwise.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import libcst as cst
import torch
import torch.nn.functional as F
from torch import fx

# The prefix a generated file writes for each module a binding comes from.
_PREFIX = {"torch": "torch", "F": "F", "linalg": "torch.linalg"}

# Schema arguments a person passes by name (and reads better that way).
KEYWORD_NAMES = frozenset({
    "dim", "keepdim", "layout", "device", "pin_memory", "memory_format", "non_blocking",
    "copy", "approximate", "inplace", "training", "train", "scale", "is_causal", "dropout_p",
    "attn_mask", "enable_gqa", "eps", "alpha", "beta", "correction", "unbiased", "rounding_mode",
    "padding_idx", "output_size", "reduction", "ignore_index", "label_smoothing", "log_target",
    "momentum", "running_mean", "running_var", "mode", "diagonal",
    "negative_slope", "min_val", "max_val", "threshold", "margin", "swap", "p", "ord",
})

# Arguments whose given value is the same as leaving them out: `pin_memory=False` only matters
# for pinned host tensors and the strided layout is every dense tensor's. The cuDNN flag is what
# torch's own F wrappers pass from `torch.backends.cudnn.enabled` at run time; the traced value is
# that setting during tracing, so leaving it to the wrapper runs what the original model ran.
INERT = {"pin_memory": (False, None), "layout": (torch.strided, None),
         "cudnn_enable": (True, False), "cudnn_enabled": (True, False)}

# Python wrappers whose parameter names differ from the schema's: (binding, schema arg) -> name.
# Private aten ops whose public binding has another name: the MoE experts of transformers 5
# run `aten._grouped_mm`, which torch exports as `F.grouped_mm`.
PUBLIC_NAMES = {"_grouped_mm": "grouped_mm"}

RENAMES = {("grouped_mm", "self"): "mat_a", ("grouped_mm", "mat2"): "mat_b",
           ("split", "split_size"): "split_size_or_sections",
           ("split", "split_sizes"): "split_size_or_sections",
           ("dropout", "train"): "training"}

# Python wrappers in the torch namespace that only rename or spread their arguments; other
# wrappers there (`torch.norm`, `torch.stft`) choose among ops themselves and are never used.
TORCH_WRAPPERS = frozenset({"split", "broadcast_tensors"})

# Ops written as a method of their first argument: idiomatic forms of dtype, copy and mask ops.
METHOD_STYLE = frozenset({"masked_fill", "type_as", "to", "clone", "detach", "expand_as",
                          "contiguous", "view_as", "reshape_as", "float", "half", "bfloat16"})

# F functions that warn (deprecated in favour of torch.<name>): never chosen.
F_DEPRECATED = frozenset({"tanh", "sigmoid"})

# Ops another op stands for with the same arguments: `split_with_sizes` is `torch.split`.
SAME_AS = {"split_with_sizes": "split", "cross_entropy_loss": "cross_entropy"}

# Loss reductions: the schema's enum, the string the F functions take.
REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}

INT64_MAX = 2 ** 63 - 1

Lit = Callable[[Any], cst.BaseExpression]


class NoTorchCall(Exception):
    """The op has no public torch call that takes its arguments; `reason` says why."""


@dataclass(frozen=True)
class Binding:
    """A public callable and how a generated file names it."""

    kind: str  # "function" (module-level, named by `path`) or "method" (of the first argument)
    path: str  # "torch.softmax", "F.gelu", "torch.linalg.vector_norm", or the method name
    params: list[inspect.Parameter] | None  # a Python wrapper's signature; None for C bindings
    extra: tuple[tuple[str, Any], ...] = ()  # keywords the call always adds: `inplace=True`


def overload_key(target: Any) -> str:
    """`softmax.int` for `aten.softmax.int`."""
    return f"{target._schema.name.split('::')[-1]}.{target._overloadname}"


def is_dropped(node: fx.Node) -> bool:
    """Ops that compute nothing and return nothing: left out of generated files."""
    return (node.op == "call_function" and _is_aten(node.target)
            and node.target._schema.name == "aten::_assert_tensor_metadata")


def passthrough(node: fx.Node) -> fx.Node | None:
    """The value an op returns unchanged (`alias`), written as that value itself."""
    if (node.op == "call_function" and _is_aten(node.target)
            and node.target._schema.name == "aten::alias"):
        return node.args[0]  # type: ignore[return-value]
    return None


def render(node: fx.Node, lit: Lit) -> cst.BaseExpression:
    """The torch-level expression for one aten node; `lit` writes an argument value.

    Raises NoTorchCall when no public binding takes the op's arguments."""
    target = node.target
    if not _is_aten(target):
        raise NoTorchCall(f"{target!r} is no aten op")
    args = _bind(target._schema, node)
    key = overload_key(target)
    name = target._schema.name.split("::")[-1]
    if key in SPECIAL:
        expr = SPECIAL[key](args, lit)
        if expr is not None:
            return expr
    if name.startswith("_") and name not in PUBLIC_NAMES:
        raise NoTorchCall(f"aten.{key} is private to torch")
    reasons = []
    for binding in _bindings(SAME_AS.get(name, name)):
        try:
            return _write(binding, target._schema, args, lit)
        except NoTorchCall as err:
            reasons.append(str(err))
    raise NoTorchCall(f"no public torch call takes aten.{key}'s arguments"
                      + (f" ({'; '.join(reasons)})" if reasons else ""))


# --- binding and writing ---------------------------------------------------------------------

def _is_aten(target: Any) -> bool:
    return isinstance(target, torch._ops.OpOverload) and target.namespace == "aten"


def _bind(schema: torch.FunctionSchema, node: fx.Node) -> dict[str, Any]:
    """Schema argument name -> the node's value for it (missing ones left out)."""
    bound: dict[str, Any] = {}
    for i, arg in enumerate(schema.arguments):
        if not arg.kwarg_only and i < len(node.args):
            bound[arg.name] = node.args[i]
        elif arg.name in node.kwargs:
            bound[arg.name] = node.kwargs[arg.name]
    return bound


def _native(obj: Any) -> bool:
    return callable(obj) and not inspect.isfunction(obj)  # C bindings: builtins, descriptors


def _bindings(name: str) -> list[Binding]:
    """Public callables named `name`, most idiomatic first."""
    out: list[Binding] = []
    method = getattr(torch._C.TensorBase, name, None)
    native_method = method is not None and getattr(torch.Tensor, name, None) is method
    if native_method and (name.endswith("_") or name in METHOD_STYLE):
        out.append(Binding("method", name, None))
    f = getattr(F, name, None)
    if f is not None and not name.startswith("_") and name not in F_DEPRECATED:
        out.append(_function("F", name, f))
    t = getattr(torch, name, None)
    if t is not None and not name.startswith("_") and not inspect.isclass(t) and \
            not inspect.ismodule(t):
        if t is getattr(torch._C._VariableFunctions, name, None) or name in TORCH_WRAPPERS:
            out.append(_function("torch", name, t))
    if name.startswith("linalg_"):
        la = getattr(torch.linalg, name[len("linalg_"):], None)
        if la is not None and la is getattr(torch._C._linalg, name, None):
            out.append(Binding("function", f"torch.linalg.{name[len('linalg_'):]}", None))
    if not out or all(b.kind != "function" or not b.path.startswith("F.") for b in out):
        alias = _f_alias(name)  # `log_sigmoid` is F.logsigmoid: the same C binding, renamed
        if alias is not None:
            out.append(Binding("function", f"F.{alias}", None))
    if name in PUBLIC_NAMES:
        out.append(_function("F", PUBLIC_NAMES[name], getattr(F, PUBLIC_NAMES[name])))
    if name.endswith("_"):
        f = getattr(F, name[:-1], None)  # `hardtanh_` is `F.hardtanh(..., inplace=True)`
        if inspect.isfunction(f) and "inplace" in inspect.signature(f).parameters:
            b = _function("F", name[:-1], f)
            out.append(Binding(b.kind, b.path, b.params, (("inplace", True),)))
    if native_method and all(b.kind != "method" for b in out):
        out.append(Binding("method", name, None))  # the last resort: `x.unfold(1, 2, 1)`
    return out


def _f_alias(name: str) -> str | None:
    """The public F name of the C binding `torch._C._nn.<name>`, if F exports it by another."""
    obj = getattr(torch._C._nn, name, None)
    if obj is None:
        return None
    names = sorted(n for n in dir(F) if not n.startswith("_") and getattr(F, n) is obj)
    return names[0] if names else None


def _function(prefix: str, name: str, obj: Any) -> Binding:
    params = None if _native(obj) else list(inspect.signature(obj).parameters.values())
    return Binding("function", f"{_PREFIX[prefix]}.{name}", params)


def _is_default(arg: torch.Argument, value: Any) -> bool:
    if isinstance(value, fx.Node):
        return False
    if arg.name in INERT and any(value is v or (value == v and type(value) is type(v))
                                 for v in INERT[arg.name]):
        return True
    if not arg.has_default_value():
        return False
    default = arg.default_value
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) == list(default)
    try:
        return bool(value == default)
    except Exception:
        return False


def _write(binding: Binding, schema: torch.FunctionSchema, args: dict[str, Any],
           lit: Lit) -> cst.BaseExpression:
    """The call of `binding` with the schema's arguments; NoTorchCall when it cannot take them."""
    arguments = list(schema.arguments)
    base = binding.path.rsplit(".", 1)[-1]
    receiver = None
    if binding.kind == "method":
        first = arguments[0]
        if not isinstance(args.get(first.name), fx.Node):
            raise NoTorchCall(f"{binding.path}: the first argument is no tensor")
        receiver = lit(args[first.name])
        arguments = arguments[1:]
    names: dict[str, str] = {}  # schema name -> keyword the binding takes
    position: dict[str, int] = {}  # schema name -> index among the binding's positional params
    params = binding.params
    star = None
    if params is None:
        for i, a in enumerate(arguments):
            names[a.name] = "input" if a.name == "self" else a.name
            if not a.kwarg_only:
                position[a.name] = i
    else:
        by_name = {p.name: i for i, p in enumerate(params)}
        for i, a in enumerate(arguments):
            pname = RENAMES.get((base, a.name), a.name)
            if i == 0 and not a.kwarg_only and params and params[0].kind in (
                    inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    inspect.Parameter.VAR_POSITIONAL):
                pname = params[0].name  # `input`, `tensor`, `*tensors`: the first is the subject
            if pname not in by_name:
                continue
            p = params[by_name[pname]]
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                star = a.name
                position[a.name] = by_name[pname]
                continue
            names[a.name] = pname
            if p.kind is not inspect.Parameter.KEYWORD_ONLY and not a.kwarg_only:
                position[a.name] = by_name[pname]
    if params is not None:
        given = set(names.values())
        if star is not None:
            given.add(params[position[star]].name)
        for p in params:
            if p.default is inspect.Parameter.empty and p.kind in (
                    inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    inspect.Parameter.KEYWORD_ONLY) and p.name not in given:
                # `F.unfold(input, kernel_size)` is im2col, not aten's `unfold(self, dimension, ..)`
                raise NoTorchCall(f"{binding.path} needs `{p.name}`, which aten's op has not")
    pos: list[cst.BaseExpression] = []
    kw: dict[str, cst.BaseExpression] = {}
    positional = True
    for i, a in enumerate(arguments):
        present = a.name in args
        value = args.get(a.name)
        value = REDUCTIONS.get(value, value) if a.name == "reduction" and params is not None \
            else value
        if a.name not in names and a.name != star:
            if present and not _is_default(a, args[a.name]):
                raise NoTorchCall(f"{binding.path} takes no `{a.name}`")
            positional = False
            continue
        skip = not present or _is_default(a, args[a.name])
        if skip and present and params is None and not a.has_default_value():
            skip = False  # an inert value of a required argument: a C binding still needs it
        if not skip and params is not None and a.name in names:
            p = params[[q.name for q in params].index(names[a.name])]
            # `F.instance_norm(x)`: a value the wrapper passes on by default need not be written
            skip = (p.default is not inspect.Parameter.empty and not isinstance(value, fx.Node)
                    and type(p.default) is type(value) and p.default == value)
        elif skip and params is not None and a.name in names:
            p = params[[q.name for q in params].index(names[a.name])]
            wrapper_default = p.default
            expected = REDUCTIONS.get(a.default_value, a.default_value) \
                if a.name == "reduction" and a.has_default_value() else \
                (a.default_value if a.has_default_value() else None)
            if present and wrapper_default is not inspect.Parameter.empty and not (
                    wrapper_default == expected or a.name in INERT):
                skip = False  # the wrapper's default differs: say the value
        if skip:
            positional = False
            continue
        if a.name == star:
            if not positional or position.get(a.name) != len(pos) or not isinstance(value, list):
                raise NoTorchCall(f"{binding.path}: `*{a.name}` cannot be written")
            pos.extend(lit(v) for v in value)
            continue
        if (positional and a.name in position and position[a.name] == len(pos)
                and a.name not in KEYWORD_NAMES):
            pos.append(lit(value))
        else:
            positional = False
            kw[names[a.name]] = lit(value)
    for k, v in binding.extra:
        kw[k] = lit(v)
    func = cst.Attribute(value=receiver, attr=cst.Name(binding.path)) if receiver is not None \
        else _dotted(binding.path)
    return _call(func, pos, kw)


def _dotted(path: str) -> cst.BaseExpression:
    parts = path.split(".")
    expr: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def _call(func: cst.BaseExpression, args: list[cst.BaseExpression],
          kwargs: dict[str, cst.BaseExpression]) -> cst.Call:
    tight = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""))
    cargs = [cst.Arg(value=a) for a in args]
    cargs += [cst.Arg(value=v, keyword=cst.Name(k), equal=tight) for k, v in kwargs.items()]
    return cst.Call(func=func, args=cargs)


# --- ops with their own form -------------------------------------------------------------------

def _slice(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    """`slice.Tensor(x, d, a, b, s)` -> `x[:, a:b:s]` (d >= 0) or `x[..., a:b:s, :]` (d < 0)."""
    dim = args.get("dim", 0)
    if not isinstance(dim, int):
        return None
    start, end, step = args.get("start"), args.get("end"), args.get("step", 1)
    if isinstance(start, int) and start == 0:
        start = None
    if isinstance(end, int) and end >= INT64_MAX:
        end = None  # aten's "to the end"
    if isinstance(step, int) and step == 1:
        step = None
    part = cst.Slice(lower=None if start is None else lit(start),
                     upper=None if end is None else lit(end),
                     step=None if step is None else lit(step))
    full = cst.Slice(lower=None, upper=None)
    if dim >= 0:
        elems = [full] * dim + [part]
    else:
        elems = [cst.Index(cst.Ellipsis())] + [part] + [full] * (-dim - 1)
    return cst.Subscript(value=lit(args["self"]), slice=[cst.SubscriptElement(e) for e in elems])


def _select(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    """`select.int(x, d, i)` -> `x[:, i]` (d >= 0) or `x[..., i, :]` (d < 0)."""
    dim = args["dim"]
    if not isinstance(dim, int):
        return None
    part = cst.Index(lit(args["index"]))
    full = cst.Slice(lower=None, upper=None)
    if dim >= 0:
        elems: list[cst.BaseSlice] = [full] * dim + [part]
    else:
        elems = [cst.Index(cst.Ellipsis()), part] + [full] * (-dim - 1)
    return cst.Subscript(value=lit(args["self"]), slice=[cst.SubscriptElement(e) for e in elems])


def _index(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    """`index.Tensor(x, [None, i])` -> `x[:, i]` (advanced indexing, the same op)."""
    indices = args["indices"]
    if not indices or not any(isinstance(i, fx.Node) for i in indices):
        return None
    elems = [cst.Slice(lower=None, upper=None) if i is None else cst.Index(lit(i))
             for i in indices]
    return cst.Subscript(value=lit(args["self"]), slice=[cst.SubscriptElement(e) for e in elems])


def _embedding(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    """`embedding(weight, indices, ...)` -> `F.embedding(indices, weight)`: the table is second.

    aten's padding_idx is -1 for none, F's is None; it and scale_grad_by_freq change only the
    gradient, so the forward value is the same either way, but they are written when set."""
    kw: dict[str, cst.BaseExpression] = {}
    if args.get("padding_idx", -1) != -1:
        kw["padding_idx"] = lit(args["padding_idx"])
    if args.get("scale_grad_by_freq", False):
        kw["scale_grad_by_freq"] = lit(True)
    if args.get("sparse", False):
        kw["sparse"] = lit(True)
    return _call(_dotted("F.embedding"), [lit(args["indices"]), lit(args["weight"])], kw)


def _einsum(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    """`einsum(eq, [a, b])` -> `torch.einsum(eq, a, b)`: torch.einsum takes `*args`."""
    if args.get("path") is not None or not isinstance(args.get("tensors"), (list, tuple)):
        return None
    return _call(_dotted("torch.einsum"), [lit(args["equation"])]
                 + [lit(t) for t in args["tensors"]], {})


def _weight_norm(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    """`_weight_norm(v, g, dim)` (a weight-normed builtin's weight) -> its definition,
    `v * (g / torch.norm_except_dim(v, 2, dim))`: torch's own name for it is private. Equal to
    within float rounding (torch fuses it on CPU), not bit for bit."""
    quotient = cst.BinaryOperation(
        left=lit(args["g"]), operator=cst.Divide(),
        right=_call(_dotted("torch.norm_except_dim"),
                    [lit(args["v"]), lit(2), lit(args.get("dim", 0))], {}),
        lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=lit(args["v"]), operator=cst.Multiply(), right=quotient)


def _neg(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    return cst.UnaryOperation(operator=cst.Minus(), expression=lit(args["self"]))


def _transpose_t(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
    return cst.Attribute(value=lit(args["self"]), attr=cst.Name("T"))


_COMPARISONS: dict[str, type[cst.BaseCompOp]] = {
    "eq": cst.Equal, "ne": cst.NotEqual, "lt": cst.LessThan, "le": cst.LessThanEqual,
    "gt": cst.GreaterThan, "ge": cst.GreaterThanEqual}


def _comparison(op: str) -> Callable[[dict[str, Any], Lit], cst.BaseExpression | None]:
    """`eq.Scalar(mask, 0)` -> `mask == 0`, as the spec's causal masks are written."""
    def write(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
        if not isinstance(args.get("self"), fx.Node):
            return None
        return cst.Comparison(left=lit(args["self"]), comparisons=[
            cst.ComparisonTarget(operator=_COMPARISONS[op](), comparator=lit(args["other"]))])
    return write


_OPERATORS: dict[str, type[cst.BaseBinaryOp]] = {
    "__and__": cst.BitAnd, "__or__": cst.BitOr, "__xor__": cst.BitXor, "remainder": cst.Modulo}


def _operator(op: str) -> Callable[[dict[str, Any], Lit], cst.BaseExpression | None]:
    """`__and__.Tensor(a, b)` -> `a & b`, `remainder.Scalar(pos, 16)` -> `pos % 16`: what
    Python's operators trace to, written back as operators (transformers' mask functions
    combine their conditions that way, and the guard judges operators by their operands)."""
    def write(args: dict[str, Any], lit: Lit) -> cst.BaseExpression | None:
        if not isinstance(args.get("self"), fx.Node):
            return None
        return cst.BinaryOperation(left=lit(args["self"]), operator=_OPERATORS[op](),
                                   right=lit(args["other"]),
                                   lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return write


SPECIAL: dict[str, Callable[[dict[str, Any], Lit], cst.BaseExpression | None]] = {
    **{f"{op}.{overload}": _comparison(op) for op in _COMPARISONS
       for overload in ("Scalar", "Tensor")},
    **{f"{op}.{overload}": _operator(op) for op in _OPERATORS for overload in ("Scalar", "Tensor")},
    "slice.Tensor": _slice,
    "select.int": _select,
    "index.Tensor": _index,
    "embedding.default": _embedding,
    "einsum.default": _einsum,
    "neg.default": _neg,
    "numpy_T.default": _transpose_t,
    "_weight_norm.default": _weight_norm,
}
