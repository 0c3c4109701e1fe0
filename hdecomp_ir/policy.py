"""The op table: the one place that says what every traced op is.

Every op the front ends produce is either PLUMBING (data movement a refactored forward() may keep:
views, indexing, assembly, casts, constants), ARITH (add/sub/mul/div: plumbing as a residual add or a
scaling by a constant or a mask, compute when an operand is a parameter or when it multiplies or
divides two activations; see `arith_is_compute`) or COMPUTE. Compute ops carry a fusion
pattern from the TVM lattice. The code generator, the passes and the anti-cheat checker all read this
table, so what the generator leaves in a parent is legal by construction.

Classification is derived from torch's own tags (`torch.Tag.pointwise`, `torch.Tag.reduction`,
`OpOverload.is_view`) and the partitioner's compute-intensive list; the small tables below fill the
gaps that torch does not tag.
"""

from __future__ import annotations

import enum
import functools
import operator
import re
import sys
from dataclasses import dataclass
from typing import Any

import torch


class OpKind(enum.Enum):
    """Whether an op may stay in a refactored parent."""

    PLUMBING = "plumbing"
    ARITH = "arith"
    COMPUTE = "compute"


class Pattern(enum.IntEnum):
    """Fusion lattice (TVM FuseOps), ordered from most to least fusable."""

    ELEMWISE = 0
    BROADCAST = 1
    INJECTIVE = 2
    REDUCTION = 3
    OUT_EWISE_FUSABLE = 4
    OPAQUE = 5


@dataclass(frozen=True)
class OpInfo:
    """What the table knows about one op target."""

    name: str
    kind: OpKind
    pattern: Pattern
    classified: bool = True

    @property
    def is_compute(self) -> bool:
        return self.kind is OpKind.COMPUTE


# Data movement, shape and constant ops that a refactored forward() may contain.
# View ops are found through OpOverload.is_view; these are the non-view ones.
PLUMBING_NAMES = frozenset({
    "reshape", "flatten", "unflatten", "contiguous", "clone", "_to_copy", "to", "type_as",
    "expand", "expand_as", "view_as", "reshape_as", "cat", "concat", "concatenate", "stack",
    "hstack", "vstack", "split", "split_with_sizes", "chunk", "unbind", "tensor_split",
    "index", "index_select", "gather", "select", "slice", "narrow", "permute", "transpose", "t",
    "unsqueeze", "squeeze", "movedim", "swapaxes", "masked_fill", "dropout", "alpha_dropout",
    "feature_dropout", "feature_alpha_dropout", "detach", "lift_fresh_copy", "alias", "zeros",
    "ones", "full", "empty", "arange", "zeros_like", "ones_like", "full_like", "empty_like",
    "new_zeros", "new_ones", "new_full", "new_empty", "scalar_tensor", "tensor", "repeat",
    "repeat_interleave", "tile", "roll", "flip", "constant_pad_nd", "pad", "copy", "copy_",
    "_assert_tensor_metadata", "sym_size", "sym_numel", "getitem", "diagonal", "tril", "triu",
    "view", "as_strided", "unfold", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
    "lift_fresh", "_unsafe_view", "expand_copy", "view_copy", "identity", "type",
    "float", "half", "bfloat16", "double", "int", "long", "bool", "numpy_T", "mT", "mH",
    "adjoint", "matrix_H", "_unsafe_view", "unsafe_split", "unsafe_chunk", "_reshape_alias",
    "eye", "linspace", "tril_indices", "triu_indices", "broadcast_tensors", "broadcast_to",
})

# The ops of `OpKind.ARITH`; whether one is plumbing or compute is `arith_is_compute`'s call.
ARITH_NAMES = frozenset({"add", "sub", "mul", "div", "neg", "rsub", "true_divide", "add_", "mul_",
                         "sub_", "div_"})

# Anchors: compute-intensive ops that take an elementwise epilogue but never chain a second anchor.
ANCHOR_NAMES = frozenset({
    "linear", "matmul", "mm", "bmm", "addmm", "baddbmm", "addbmm", "addmv", "mv", "dot",
    "einsum", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "convolution", "_convolution", "scaled_dot_product_attention",
    "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_flash_attention_for_cpu", "embedding", "embedding_bag", "tensordot",
    "outer", "cdist", "upsample_bilinear2d", "upsample_nearest2d", "grid_sampler",
})

# Reductions and normalizations torch leaves untagged (softmax, norms, scans, pools, losses).
REDUCTION_NAMES = frozenset({
    "softmax", "log_softmax", "_softmax", "_log_softmax", "layer_norm", "group_norm",
    "instance_norm", "rms_norm", "native_layer_norm", "native_group_norm", "cumsum", "cumprod",
    "cummax", "cummin", "logcumsumexp", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d",
    "lp_pool2d", "cross_entropy_loss", "nll_loss", "nll_loss_nd", "nll_loss2d", "mse_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "margin_ranking_loss", "hinge_embedding_loss",
    "triplet_margin_loss", "cosine_similarity", "cosine_embedding_loss", "pairwise_distance",
    "soft_margin_loss", "multi_margin_loss", "poisson_nll_loss", "norm", "linalg_vector_norm",
    "frobenius_norm", "std", "var", "std_mean", "var_mean", "logsumexp", "topk", "sort",
    "argsort", "kthvalue", "median", "mode", "max", "min", "argmax", "argmin", "amax", "amin",
    "sum", "mean", "prod", "all", "any", "count_nonzero", "normalize", "local_response_norm",
    "glu",
})

# Elementwise ops that lack torch's pointwise tag. batch_norm is elementwise in eval mode
# (a per-channel affine), which is why conv+bn+relu is the classic fusion.
ELEMWISE_NAMES = frozenset({
    "hardswish", "hardsigmoid", "hardtanh", "silu", "gelu", "mish", "elu", "selu", "celu",
    "softplus", "leaky_relu", "relu6", "prelu", "rrelu", "threshold", "batch_norm",
    "_native_batch_norm_legit_no_training", "native_batch_norm", "logsigmoid", "softsign",
    "tanhshrink", "softshrink", "hardshrink", "where", "clamp", "clamp_min", "clamp_max",
    "fill", "logit", "relu", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt",
    "abs", "pow", "square",
})

# The sequence ops of nn.LSTM/GRU/RNN (the front end traces them opaquely; names carry their depth).
RECURRENT_NAMES = ("lstm", "gru", "rnn_tanh", "rnn_relu")
OPAQUE_NAMES = frozenset({*RECURRENT_NAMES, "lstm_cell", "gru_cell",
                          "rnn_tanh_cell", "rnn_relu_cell", "_transformer_encoder_layer_fwd",
                          "_native_multi_head_attention"})

# A Python function whose one call enters a line this many times loops over time: it is traced
# as one `loop_region` op (frontend/loops.py) and is one kernel, written as its own source.
LOOP_MIN_STEPS = 16
OPAQUE_NAMES = OPAQUE_NAMES | {"loop_region"}

_PYTHON_BUILTINS: dict[Any, str] = {operator.getitem: "getitem"}


def op_name(target: Any) -> str:
    """Short name of an fx call target: `aten.softmax.int` -> `softmax`."""
    if target in _PYTHON_BUILTINS:
        return _PYTHON_BUILTINS[target]
    if isinstance(target, torch._ops.OpOverload):
        return target._schema.name.split("::")[-1]
    if isinstance(target, torch._ops.OpOverloadPacket):
        return target._qualified_op_name.split("::")[-1]
    return getattr(target, "__name__", str(target))


def _has_tag(target: Any, tag_name: str) -> bool:
    tag = getattr(torch.Tag, tag_name, None)  # Tag.reduction is new: feature-detect it
    return tag is not None and tag in getattr(target, "tags", ())


@functools.lru_cache(maxsize=None)
def _compute_intensive() -> frozenset[str]:
    from torch._functorch.partitioners import get_default_op_list

    return frozenset(str(op).split(".")[-1] for op in get_default_op_list().compute_intensive_ops)


def is_random_op(target: Any) -> bool:
    """Whether an op draws random numbers (`randn`, `dropout` in training, `bernoulli`): its
    result is never a constant, whatever its inputs."""
    return isinstance(target, torch._ops.OpOverload) and \
        torch.Tag.nondeterministic_seeded in target.tags


def op_info(target: Any) -> OpInfo:
    """Classify an fx call target (an aten overload or a Python builtin such as getitem)."""
    name = op_name(target)
    base = name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name
    if isinstance(target, torch._ops.OpOverload) and target.is_view:
        return OpInfo(name, OpKind.PLUMBING, Pattern.INJECTIVE)
    if base == "div" and getattr(target, "_overloadname", "").endswith("_mode"):
        # floor or trunc division (`x // 1` is a floor): rounding is compute, not scaling
        return OpInfo(base, OpKind.COMPUTE, Pattern.ELEMWISE)
    if base in ARITH_NAMES or name in ARITH_NAMES:
        return OpInfo(base, OpKind.ARITH, Pattern.ELEMWISE)
    if base in PLUMBING_NAMES:
        return OpInfo(base, OpKind.PLUMBING, Pattern.INJECTIVE)
    if base in OPAQUE_NAMES:
        return OpInfo(base, OpKind.COMPUTE, Pattern.OPAQUE)
    if base in ANCHOR_NAMES or base in _compute_intensive():
        return OpInfo(base, OpKind.COMPUTE, Pattern.OUT_EWISE_FUSABLE)
    if base in REDUCTION_NAMES or _has_tag(target, "reduction"):
        return OpInfo(base, OpKind.COMPUTE, Pattern.REDUCTION)
    if base in ELEMWISE_NAMES or _has_tag(target, "pointwise"):
        return OpInfo(base, OpKind.COMPUTE, Pattern.ELEMWISE)
    # Unknown ops are kept whole as opaque compute and reported by the analysis, never guessed.
    return OpInfo(base, OpKind.COMPUTE, Pattern.OPAQUE, classified=False)


def name_kind(name: str) -> OpKind:
    """Classify a torch-level function or tensor-method name (`torch.cat`, `x.relu`).

    Used by the static anti-cheat, which sees source code rather than traced targets.
    """
    base = name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name
    overload = getattr(torch.ops.aten, base, None)
    if overload is not None:
        try:
            default = getattr(overload, overload.overloads()[0])
        except (IndexError, AttributeError, RuntimeError):
            default = None
        if default is not None:
            return op_info(default).kind
    if base in ARITH_NAMES:
        return OpKind.ARITH
    if base in PLUMBING_NAMES:
        return OpKind.PLUMBING
    return OpKind.COMPUTE


# Ops defined only for positive inputs: a component whose input feeds one of these gets positive
# random inputs in its get_inputs(), so its self-test does not produce NaN from a valid model.
POSITIVE_DOMAIN_NAMES = frozenset({"log", "log2", "log10", "sqrt", "rsqrt", "kl_div", "lgamma",
                                   "digamma", "acosh", "log1p", "binary_cross_entropy", "pow",
                                   "reciprocal", "xlogy", "special_xlog1py"})
# Reductions that keep positive values positive: `rsqrt(mean(x) + eps)` needs a positive x too.
SIGN_PRESERVING_NAMES = frozenset({"mean", "sum", "amax", "amin", "max", "min", "avg_pool1d",
                                   "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
                                   "adaptive_avg_pool2d", "adaptive_avg_pool3d", "cumsum", "logsumexp"})

# Runtime checks of a decision torch took on data-dependent values; the real-tensor fallback of
# the front end fixes those decisions and drops these ops.
GUARD_NAMES = frozenset({"_assert_scalar", "_assert_async", "sym_constrain_range",
                         "sym_constrain_range_for_size"})

# Metadata queries (sizes, dtypes, devices): no data is read or computed, so source code may use
# them anywhere. The static anti-cheat reads this set.
META_NAMES = frozenset({
    "size", "dim", "ndim", "ndimension", "numel", "nelement", "shape", "dtype", "device",
    "stride", "is_contiguous", "is_floating_point", "is_complex", "element_size", "layout",
    "requires_grad", "is_cuda", "get_device", "storage_offset", "__len__", "__format__",
    "__repr__", "__hash__", "__index__", "names", "T", "mT", "H", "mH", "itemsize", "nbytes",
    "finfo", "iinfo", "is_tensor", "get_default_dtype", "promote_types", "result_type",
    "broadcast_shapes", "Size", "is_grad_enabled", "is_inference_mode_enabled", "dim_order",
    "is_nonzero_shape", "__iter__", "__contains__", "is_same_size", "data_ptr", "__bool__",
})


# What torch.nn.utils.parametrize puts in the class it makes (`Parametrized<Builtin>`) besides
# one property per parametrized tensor.
_PARAMETRIZED_CLASS_KEYS = frozenset({"__deepcopy__", "__doc__", "__getstate__", "__module__"})


def _torch_nn_class(cls: type) -> bool:
    """Whether `cls` is torch.nn's own class, by identity: the object its module exports under
    its name, not a look-alike that sets `__module__`/`__qualname__` or subclasses a builtin."""
    module_name = getattr(cls, "__module__", "") or ""
    if not module_name.startswith("torch.nn.") or module_name.startswith("torch.nn.utils."):
        return False
    owner = sys.modules.get(module_name)
    return owner is not None and getattr(owner, cls.__qualname__, None) is cls


def _unparametrized_class(module: Any) -> type:
    """The builtin class under a parametrized module (weight_norm, spectral_norm), or the
    module's own class. A class counts as torch's parametrized wrapper only when it is made
    the way `parametrize` makes it: one base, its name, its module, and nothing but properties
    of the parametrized tensors; a `parametrizations` attribute alone proves nothing."""
    cls = type(module)
    if cls.__module__ != "torch.nn.utils.parametrize" or len(cls.__bases__) != 1:
        return cls
    base = cls.__bases__[0]
    holder = getattr(module, "parametrizations", None)
    from torch.nn.utils.parametrize import ParametrizationList

    if cls.__name__ != f"Parametrized{base.__name__}" or \
            not isinstance(holder, torch.nn.ModuleDict) or \
            not all(type(p) is ParametrizationList for p in holder.values()):
        return cls
    for key, value in vars(cls).items():
        if key not in _PARAMETRIZED_CLASS_KEYS and \
                not (key in holder and isinstance(value, property)):
            return cls
    return base


def is_builtin_leaf(module: Any) -> bool:
    """A torch.nn module without submodules (nn.Linear, nn.LSTM, nn.GELU): one semantic kernel
    however many aten ops it runs. Builtins with submodules (nn.MultiheadAttention,
    nn.TransformerEncoderLayer) are structure: their ops are kernels of their own. The class
    is checked by identity (`_torch_nn_class`): a subclass of nn.Linear is the author's code."""
    if not _torch_nn_class(_unparametrized_class(module)):
        return False
    # a parametrization (weight_norm, spectral_norm) is how the weight is made, not structure
    return not any(name != "parametrizations" for name, _ in module.named_children())


def is_anchor(info: OpInfo) -> bool:
    """Anchors (matmul, conv, linear …) and opaque ops: never part of a semantic kernel."""
    return info.kind is OpKind.COMPUTE and info.pattern >= Pattern.OUT_EWISE_FUSABLE


# --- plumbing or compute -----------------------------------------------------------------------
# One rule for the generator (which ops `lift` leaves in a parent), the static and the dynamic
# anti-cheat (which ops a refactored parent may run) and the verifier's op count inside a child.
# Each caller says what it can see of the operands; the rule itself lives only here.

# Arithmetic that scales rather than adds: a product or quotient of two activations is compute.
MULTIPLICATIVE_NAMES = frozenset({"mul", "div", "true_divide"})
# Ops that may stay in a parent when the exponent is a Python number: `(pred - target) ** 2`.
SCALAR_POW_NAMES = frozenset({"pow", "square"})
# Compute ops that build masks from positions and constants (transformers' causal and packed-
# sequence masks: `torch.diff`, `cumsum`, `&`). On constants they are plumbing, on activations
# compute; source shows no operands, so the static rules leave them to the dynamic guard, which
# judges the values they turn out to read.
MASK_CONSTRUCTION_NAMES = frozenset({
    "cumsum", "diff", "tril", "triu", "logical_and", "logical_or", "logical_not", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_not", "bitwise_xor", "__and__", "__or__", "__xor__",
    "__invert__"})
# Ops whose output does not depend on their tensor operands' values (shape and dtype only):
# `x.new_ones(t, t)` builds a constant, whatever x holds.
CONSTANT_FACTORY_NAMES = frozenset({"zeros_like", "ones_like", "full_like", "empty_like",
                                    "new_zeros", "new_ones", "new_full", "new_empty"})


def is_plumbing_exponent(exponent: Any) -> bool:
    """Whether `x ** exponent` may stay in a parent: a whole power of at least 1 given as a
    Python number (`(pred - target) ** 2`). Fractional and negative powers are sqrt, rsqrt and
    reciprocal in disguise."""
    if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
        return False
    return float(exponent).is_integer() and exponent >= 1


def arith_is_compute(*, reads_weight: bool, tensor_operands: int = 0, in_child: bool = False,
                     sole_workload: bool = False, multiplicative: bool = False,
                     activations: int = 0) -> bool:
    """The arithmetic rule: whether add/sub/mul/div (`OpKind.ARITH`) is compute or plumbing.

    In a parent, arithmetic is compute when an operand is a weight (a bias add, a learned
    scale), because weights live in children, and when it is a product or quotient
    (`multiplicative`) of two activations (`activations`: operands with at least one dimension
    that are neither constants, buffers nor values built from those alone): `q * k`,
    `e / e.sum(-1)`, `x * cos`, `h * (h > 0)` are attention, softmax, RoPE and ReLU. A residual
    add/sub of two values, a scaling by a constant or a 0-d value and a product with a constant
    mask stay plumbing. A model that is nothing but arithmetic (`sole_workload`: `a * b`) has
    that arithmetic as its workload.

    Inside a child, where logical ops are counted (the verifier's kernel and fusion counts, the
    op budget of a semantic kernel), arithmetic between two non-scalar tensors is an op too;
    scaling by a constant stays free.

    `reads_weight`: an operand is a weight, as far as the caller can see (the static checker sees
    no operands and passes False: it refuses reaching into a child's weights by a rule of its
    own). `tensor_operands`: how many operands are tensors with at least one dimension.
    """
    if reads_weight or sole_workload:
        return True
    if in_child:
        return tensor_operands >= 2
    return multiplicative and activations >= 2


def is_compute_in_parent(kind: OpKind, *, reads_weight: bool, name: str = "",
                         activations: int = 0, constant_inputs: bool = False,
                         scalar_exponent: bool = False) -> bool:
    """Whether an op must live in a child rather than stay in a parent's forward().

    Compute ops always, except two kinds of input-independent work and the spec's loss
    arithmetic: an op whose tensor operands are all constants, buffers or values built from
    those alone (`constant_inputs`: a causal mask `self.bias[:, :, :t, :t] == 0`, `torch.triu`
    of ones) and `pow` by a whole number (`scalar_exponent`, see `is_plumbing_exponent`:
    `(pred - target) ** 2`).
    Arithmetic by `arith_is_compute` (`name` is the op's short name, `activations` as there);
    data movement only when it reads a weight (a cls token concatenated, masked_fill with a
    mask buffer). Callers that cannot see operands pass the defaults, which are the strict
    reading for compute ops and the lenient one for arithmetic.
    """
    if kind is OpKind.COMPUTE:
        if reads_weight:
            return True
        if constant_inputs:
            return False
        return not (scalar_exponent and name in SCALAR_POW_NAMES)
    if kind is OpKind.ARITH:
        return arith_is_compute(reads_weight=reads_weight, multiplicative=name in MULTIPLICATIVE_NAMES,
                                activations=activations)
    return reads_weight


def counts_as_op(kind: OpKind, *, reads_weight: bool, tensor_operands: int,
                 is_view: bool = False) -> bool:
    """Whether one call inside a child is a logical op of that child.

    Compute ops are; arithmetic by `arith_is_compute` (in a child); data movement only when it
    moves a weight's values (a view of a weight moves nothing).
    """
    if kind is OpKind.COMPUTE:
        return True
    if kind is OpKind.ARITH:
        return arith_is_compute(reads_weight=reads_weight, tensor_operands=tensor_operands,
                                in_child=True)
    return reads_weight and not is_view


# --- semantic kernels --------------------------------------------------------------------------
# A kernel is one op, or one of a small table of named functions written out in several ops
# (RMSNorm inline, tanh-GELU, a softmax by hand, RoPE, a loss): DESIGN "semantic kernels". Which
# function a kernel computes is read off its traced ops, never off a class or file name (a name
# is the author's to choose). Each function lists the op sets that make it (`requires`: one of
# them must be among the ops), the ops it may use (`allowed`) and its op budget.
#
# Ops are written as the op counter records them (`counts_as_op`: compute ops, arithmetic
# between two tensors, arithmetic on a weight); an op that reads a weight carries the suffix
# `@w` (`mul@w`: a learned scale, `add@w`: a bias), so that a residual add folded into a
# matmul is not mistaken for a bias.
WEIGHT_SUFFIX = "@w"


@dataclass(frozen=True)
class SemanticFunction:
    """One named function a kernel may compute in several ops."""

    name: str
    requires: tuple[frozenset[str], ...]
    allowed: frozenset[str]
    max_ops: int
    anchors: int = 0  # anchor ops it may run (a Linear written as matmul + bias has one)
    # activations it reads, for ops written inline (form_pattern_kernels): a norm or an
    # activation reads one, so a residual add before it (two) stays outside it
    inputs: int = 1


def _ops(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _any(*sets: str) -> tuple[frozenset[str], ...]:
    return tuple(_ops(s) for s in sets)


_NORM_ARITH = "mul mul@w add add@w sub sub@w div div@w neg reciprocal clamp clamp_min pow square"
# (a loss's target or class weights may be a weight or buffer of the kernel: `@w` variants)
SEMANTIC_FUNCTIONS: tuple[SemanticFunction, ...] = (
    # F.normalize: x / max(||x||, eps), no learned scale (one with a scale is scale_norm)
    SemanticFunction("l2_normalize", _any("norm", "linalg_vector_norm", "normalize"),
                     _ops("norm linalg_vector_norm normalize div clamp clamp_min reciprocal mul"), 4),
    SemanticFunction("scale_norm", _any("norm", "linalg_vector_norm", "normalize"),
                     _ops("norm linalg_vector_norm normalize mul mul@w div clamp clamp_min "
                          "reciprocal add"), 5),
    SemanticFunction("rms_norm", _any("mean rsqrt", "mean sqrt", "norm", "linalg_vector_norm"),
                     _ops("mean rsqrt sqrt norm linalg_vector_norm mul mul@w add add@w div div@w "
                          "reciprocal clamp clamp_min pow square"), 8),
    # layer_norm covers group_norm and instance_norm written inline: the same ops over a
    # reshaped group (the reshape is plumbing)
    SemanticFunction("layer_norm", _any("mean rsqrt", "mean sqrt", "var rsqrt", "var sqrt",
                                        "var_mean rsqrt", "var_mean sqrt", "std"),
                     _ops(f"mean var var_mean std rsqrt sqrt {_NORM_ARITH}"), 12),
    SemanticFunction("gelu_erf", _any("erf"), _ops("erf mul add div"), 5),
    SemanticFunction("gelu_tanh", _any("tanh pow", "tanh mul"),
                     _ops("tanh pow mul add"), 8),
    # quick GELU, x * sigmoid(1.702 x), has SiLU's ops (a scalar factor is no op): a module's
    # class name tells them apart, ops written inline are named silu
    SemanticFunction("silu", _any("sigmoid mul"), _ops("sigmoid mul mul@w"), 3),
    SemanticFunction("mish", _any("softplus tanh", "exp log1p tanh", "exp log tanh"),
                     _ops("softplus tanh exp log log1p mul add"), 6),
    SemanticFunction("softmax", _any("exp sum"),
                     _ops("exp sum sub div amax max reciprocal mul"), 6),
    # x - logsumexp(x): without the subtraction a logsumexp is a reduction of its own
    SemanticFunction("log_softmax", _any("logsumexp sub", "exp sum log sub"),
                     _ops("exp sum log sub amax max logsumexp"), 7),
    # x * cos + rotate_half(x) * sin (the rotation's cat and neg are plumbing), or one complex
    # product; small on purpose: two products and a sum are all RoPE does
    # (cos and sin are buffers of the kernel, or activations from a rotary module)
    SemanticFunction("rotary_embedding", _any("mul add", "mul sub", "mul@w add", "mul@w sub"),
                     _ops("mul mul@w add sub neg cos sin view_as_complex view_as_real"), 4,
                     inputs=3),
    SemanticFunction("mse_loss", _any("sub pow mean", "sub square mean", "sub mul mean",
                                      "sub pow sum", "sub square sum"),
                     _ops("sub sub@w pow square mul mean sum"), 4, inputs=2),
    SemanticFunction("hinge_loss", _any("clamp mean", "clamp_min mean", "relu mean",
                                        "clamp sum", "clamp_min sum", "relu sum"),
                     _ops("mul mul@w sub clamp clamp_min relu mean sum"), 4, inputs=2),
    # F.kl_div takes log-probabilities: the log before it is part of the loss
    SemanticFunction("kl_div", _any("log sum", "log mean", "xlogy sum", "xlogy mean",
                                    "log_softmax sum", "log_softmax mean", "kl_div"),
                     _ops("log log_softmax softmax exp xlogy sub mul mul@w sum mean div kl_div"),
                     7, inputs=2),
    SemanticFunction("cross_entropy", _any("log_softmax mean", "log_softmax sum",
                                           "logsumexp mean", "exp sum log mean"),
                     _ops("log_softmax logsumexp exp sum log sub mul mul@w mean amax max "
                          "nll_loss"), 7, inputs=2),
    SemanticFunction("linear", _any("matmul", "mm", "bmm", "linear", "einsum"),
                     _ops("matmul mm bmm linear einsum add@w"), 2, anchors=1),
)
# The largest budget: a module with more logical ops is a layer's worth of work.
SEMANTIC_MAX_OPS = max(f.max_ops for f in SEMANTIC_FUNCTIONS)


# torch.nn functions that run several ops below the function mode (it sees only the outer call):
# they count by the ops they perform. nn.MultiheadAttention's forward is one such call: its
# input projection, scores, softmax, weighted sum and output projection.
COMPOSITE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "multi_head_attention_forward": ("linear", "bmm", "softmax", "bmm", "linear"),
}


# aten names the generator's trace has for what the verifier's function mode calls otherwise
_TOKEN_ALIASES = {"_softmax": "softmax", "_log_softmax": "log_softmax", "addmm": "linear",
                  "true_divide": "div"}


def op_token(name: str, *, reads_weight: bool) -> str:
    """How `semantic_function` sees one logical op: its base name, `@w` when it reads a weight
    (only arithmetic on a weight carries it: a compute op is named by what it computes)."""
    base = _base_name(name)
    base = _TOKEN_ALIASES.get(base, base)
    return base + WEIGHT_SUFFIX if reads_weight and base in ARITH_NAMES else base


def semantic_function(tokens: list[str] | tuple[str, ...], anchors: int, *,
                      strict: bool = False) -> str | None:
    """The named function a body of logical ops (`op_token`s) computes as one op, if any.

    One op is always one op. Otherwise the ops must all be `allowed` by one table entry, include
    one of its `requires` sets, fit its budget and run at most its anchors. `strict` (ops written
    inline, which no class name vouches for): a required op must not be one on a weight, so a
    learned scale before a sigmoid is no SiLU.
    """
    if len(tokens) == 1:
        return tokens[0].removesuffix(WEIGHT_SUFFIX)
    if not tokens:
        return None
    have = set(tokens)
    for fn in SEMANTIC_FUNCTIONS:
        if len(tokens) > fn.max_ops or anchors > fn.anchors or not have <= fn.allowed:
            continue
        present = have if strict else {t.removesuffix(WEIGHT_SUFFIX) for t in have}
        if any(req <= present for req in fn.requires):
            return fn.name
    return None


# A loop over time is one kernel (frontend/loops.py traces it as one op): its body, at most
# LOOP_MAX_BODY ops, repeated at least LOOP_MIN_STEPS times in a row, with at most
# LOOP_MAX_EXTRA ops around the loop (a scan's discretisation before it, its gating after).
# The body reads no weight: a scan steps activations; a run of identical layers (16 x
# linear+relu) reads a weight per step and stays that many ops.
LOOP_MAX_BODY = 12
LOOP_MAX_EXTRA = 24


def loop_run(tokens: list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], int] | None:
    """(the body, how many times it repeats) when a body of logical ops is one loop over time
    by the rule above, else None."""
    n = len(tokens)
    for period in range(1, LOOP_MAX_BODY + 1):
        run_start, best, best_start = 0, 0, 0
        for i in range(period, n + 1):
            if i < n and tokens[i] == tokens[i - period]:
                continue
            # tokens[run_start:i] repeat with `period`
            if i - run_start > best:
                best, best_start = i - run_start, run_start
            run_start = i - period + 1 if i < n else i
        steps = best // period
        body = tuple(tokens[best_start:best_start + period])
        if steps >= LOOP_MIN_STEPS and n - steps * period <= LOOP_MAX_EXTRA and \
                not any(t.endswith(WEIGHT_SUFFIX) for t in body):
            return body, steps
    return None


def loop_steps(tokens: list[str] | tuple[str, ...]) -> int:
    """How many steps a body of logical ops that is one loop over time takes, else 0. The
    verifier counts such a kernel as one op, as the generator emits it."""
    run = loop_run(tokens)
    return run[1] if run else 0


def repeats_in(tokens: list[str] | tuple[str, ...], body: tuple[str, ...], steps: int) -> bool:
    """Whether `body` runs `steps` times in a row somewhere in `tokens` (the original's ops)."""
    period, n, i = len(body), len(tokens), 0
    while i + period <= n:
        if tuple(tokens[i:i + period]) != body:
            i += 1
            continue
        count = 0
        while tuple(tokens[i:i + period]) == body:
            count, i = count + 1, i + period
        if count >= steps:
            return True
    return False


# The generator's choice of which custom modules it offers to keep whole as one kernel: those
# whose class name says they compute one function. A preference for readable trees only: the
# verifier never reads names, and the generator keeps one whole only when `semantic_function`
# recognises its ops. A `_` in a token is an optional underscore (`RMSNorm`, `Rms_Norm`).
SEMANTIC_TOKENS = (
    "rms_norm", "layer_norm", "group_norm", "l2_norm", "scale_norm", "gelu", "silu", "swish",
    "mish", "quick_gelu", "hard_swish", "rotary", "rope", "softmax", "softplus", "sigmoid", "relu",
    "tanh", "activation",
)
_SEMANTIC_CLASS_RE = re.compile("(" + "|".join(t.replace("_", "_?") for t in SEMANTIC_TOKENS) + ")",
                                re.IGNORECASE)


def is_semantic_class_name(name: str) -> bool:
    """Whether a module class name (`RMSNorm`, `NewGELU`) names one function (the generator's
    naming preference; see SEMANTIC_TOKENS)."""
    return _SEMANTIC_CLASS_RE.search(name) is not None


def is_semantic_module(qualname: str, *, has_submodules: bool) -> bool:
    """Whether a module call may be a semantic kernel: a custom module (not torch.nn's own,
    which are builtins: `is_builtin_leaf`) without submodules. Whether it is one is read off
    its ops (`semantic_function`), never off its name."""
    return not has_submodules and not qualname.startswith("torch.")


def function_inputs(name: str) -> int:
    """How many activations the table's function `name` reads (1 for a single op's name)."""
    return next((f.inputs for f in SEMANTIC_FUNCTIONS if f.name == name), 1)


def semantic_is_one_op(tokens: list[str] | tuple[str, ...], anchors: int) -> bool:
    """Whether a body of logical ops counts as one op (`semantic_function` names it)."""
    return semantic_function(tokens, anchors) is not None


# -- Op-set coverage (the verifier): every compute op of the original must appear among the
# children's ops up to these equivalences, so that dropping an op whose effect the inputs hide
# (a ReLU on positive inputs) is seen. An op name (aten-level, or a builtin module's `nn.Class`)
# maps to its family; a family is realised by one op of the family or by one of its
# decompositions (sets of families that together compute it).
OP_FAMILIES: dict[str, tuple[str, ...]] = {
    "linear": ("linear", "nn.Linear", "nn.LazyLinear", "addmm", "mm", "matmul", "bmm", "baddbmm",
               "addbmm", "addmv", "mv", "einsum", "tensordot", "nn.Bilinear", "bilinear"),
    "conv": ("conv1d", "conv2d", "conv3d", "convolution", "_convolution", "nn.Conv1d",
             "nn.Conv2d", "nn.Conv3d"),
    "conv_transpose": ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                       "nn.ConvTranspose1d", "nn.ConvTranspose2d", "nn.ConvTranspose3d"),
    "relu": ("relu", "nn.ReLU", "threshold", "nn.Threshold", "clamp_min", "clamp"),
    "clamp": ("clamp", "clamp_min", "clamp_max", "hardtanh", "nn.Hardtanh", "relu6", "nn.ReLU6"),
    "softmax": ("softmax", "_softmax", "nn.Softmax", "scaled_dot_product_attention"),
    "log_softmax": ("log_softmax", "_log_softmax", "nn.LogSoftmax"),
    "layer_norm": ("layer_norm", "native_layer_norm", "nn.LayerNorm"),
    "group_norm": ("group_norm", "native_group_norm", "nn.GroupNorm"),
    "batch_norm": ("batch_norm", "native_batch_norm", "_native_batch_norm_legit_no_training",
                   "nn.BatchNorm1d", "nn.BatchNorm2d", "nn.BatchNorm3d"),
    "gelu": ("gelu", "nn.GELU", "gelu_erf", "gelu_tanh"),  # the last: SEMANTIC_FUNCTIONS
    "silu": ("silu", "nn.SiLU"),
    "sigmoid": ("sigmoid", "nn.Sigmoid"),
    "tanh": ("tanh", "nn.Tanh"),
    "exp": ("exp",),
    "sum": ("sum", "mean"),
    "rsqrt": ("rsqrt", "sqrt", "reciprocal"),
    "embedding": ("embedding", "nn.Embedding", "embedding_bag", "nn.EmbeddingBag"),
    "max_pool": ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices",
                 "max_pool3d_with_indices", "nn.MaxPool1d", "nn.MaxPool2d", "nn.MaxPool3d"),
    "avg_pool": ("avg_pool1d", "avg_pool2d", "avg_pool3d", "nn.AvgPool1d", "nn.AvgPool2d",
                 "nn.AvgPool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                 "nn.AdaptiveAvgPool1d", "nn.AdaptiveAvgPool2d"),
    "attention": ("scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
                  "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
                  "nn.MultiheadAttention"),
}
# Decompositions: a family is also realised when every family of one of these sets is present.
OP_DECOMPOSITIONS: dict[str, tuple[frozenset[str], ...]] = {
    "softmax": (frozenset({"exp", "sum"}),),
    "log_softmax": (frozenset({"exp", "sum", "log"}), frozenset({"softmax", "log"}),
                    frozenset({"logsumexp"})),
    "layer_norm": (frozenset({"sum", "rsqrt"}),),
    "group_norm": (frozenset({"sum", "rsqrt"}),),
    "batch_norm": (frozenset({"rsqrt"}),),
    "gelu": (frozenset({"erf"}), frozenset({"tanh"})),
    "silu": (frozenset({"sigmoid"}),),
    "sigmoid": (frozenset({"exp"}),),
    "tanh": (frozenset({"exp"}),),
    "attention": (frozenset({"linear", "softmax"}), frozenset({"linear", "exp", "sum"})),
    "linear": (frozenset({"conv"}),),  # a 1x1 convolution is a matmul
    "conv": (frozenset({"linear"}),),  # im2col (unfold) + matmul
}
# Families whose absence is not a dropped computation: a mean of an all-ones axis, a clamp that
# only guards a denominator. (Arithmetic and plumbing are never checked: they may sit in a parent.)
COVERAGE_EXEMPT = frozenset({"sum", "rsqrt", "exp"})

# A name may realise several families (clamp_min is a ReLU and a clamp); its first is its own.
_FAMILIES_OF: dict[str, list[str]] = {}
for _family, _names in OP_FAMILIES.items():
    for _name in _names:
        _FAMILIES_OF.setdefault(_name, []).append(_family)


def _base_name(name: str) -> str:
    return name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name


def op_family(name: str) -> str:
    """The family of an op name as the worker records it (`nn.Linear`, `addmm`, `relu_`)."""
    base = _base_name(name)
    families = _FAMILIES_OF.get(base, [base])
    return base if base in families else families[0]  # clamp is a clamp first


def missing_op_families(original_ops: list[str], child_ops: list[str]) -> list[str]:
    """Compute-op families of the original that no child performs, even by decomposition.

    Only the families of OP_FAMILIES are checked (arithmetic and plumbing may sit in a parent).
    """
    have = {f for n in child_ops for f in _FAMILIES_OF.get(_base_name(n), [_base_name(n)])}
    missing: list[str] = []
    for name in original_ops:
        family = op_family(name)
        if family in have or family in missing or family in COVERAGE_EXEMPT:
            continue
        if family not in OP_FAMILIES:
            # Only the table's families are checked: other ops have honest rewrites the table
            # does not know (pow(2) as x * x, where as masked_fill), and a semantic module's
            # class name (RMSNorm) has no op name to match; the numerics judge those.
            continue
        if any(parts <= have for parts in OP_DECOMPOSITIONS.get(family, ())):
            continue
        missing.append(family)
    return missing
