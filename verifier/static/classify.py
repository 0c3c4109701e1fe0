"""Names the verifier sees, mapped onto the one op table (`hdecomp_ir.policy`).

The static checker sees source names (`torch.relu`, `x.view`), the torch-function mode sees
Python callables (`Tensor.__matmul__`, a property getter) and the dispatch mode sees aten
overloads. All three end in `op_info` / `name_kind`; this module only normalises names and adds
the few things the op table does not classify because they are not ops at all: metadata queries
(`x.size()`, `torch.finfo`). Which kernels compute one named function is the op table's rule
too, read off their traced ops (`hdecomp_ir.policy.semantic_function`), never off names.
"""

from __future__ import annotations

from typing import Any

import torch

from hdecomp_ir.policy import META_NAMES, OpInfo, OpKind, Pattern, name_kind, op_info


# Tensor methods that leave torch for Python values: compute done there is invisible to the
# dispatch mode, so outside a child they count as compute whatever the op table says.
ESCAPE_NAMES = frozenset({"tolist", "numpy", "item", "__array__", "__dlpack__",
                          "untyped_storage", "storage", "__reduce_ex__"})

# Python operator dunders -> the aten base name they stand for.
_DUNDERS = {
    "add": "add", "radd": "add", "iadd": "add_", "sub": "sub", "rsub": "rsub", "isub": "sub_",
    "mul": "mul", "rmul": "mul", "imul": "mul_", "truediv": "div", "rtruediv": "div",
    "itruediv": "div_", "div": "div", "rdiv": "div", "floordiv": "floor_divide",
    "rfloordiv": "floor_divide", "ifloordiv": "floor_divide_", "mod": "remainder",
    "rmod": "remainder", "pow": "pow", "rpow": "pow", "ipow": "pow_", "matmul": "matmul",
    "rmatmul": "matmul", "imatmul": "matmul", "neg": "neg", "pos": "positive", "abs": "abs",
    "invert": "bitwise_not", "and": "bitwise_and", "rand": "bitwise_and", "iand": "bitwise_and_",
    "or": "bitwise_or", "ror": "bitwise_or", "ior": "bitwise_or_", "xor": "bitwise_xor",
    "rxor": "bitwise_xor", "ixor": "bitwise_xor_", "lshift": "bitwise_left_shift",
    "rshift": "bitwise_right_shift", "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt",
    "ge": "ge", "getitem": "getitem", "setitem": "copy_", "float": "_local_scalar_dense",
    "int": "_local_scalar_dense", "bool": "_local_scalar_dense", "complex": "_local_scalar_dense",
}

def base_name(name: str) -> str:
    """`__rmatmul__` -> `matmul`, `view.default` -> `view`, others unchanged."""
    if name.startswith("__") and name.endswith("__"):
        inner = name[2:-2]
        return _DUNDERS.get(inner, name)
    return name.split(".")[0] if "." in name else name


def aten_info(name: str) -> OpInfo | None:
    """OpInfo of `torch.ops.aten.<name>`'s first overload, or None when aten has no such op."""
    packet = getattr(torch.ops.aten, name, None)
    if packet is None:
        return None
    try:
        overloads = packet.overloads()
        return op_info(getattr(packet, overloads[0])) if overloads else None
    except (AttributeError, RuntimeError, IndexError):
        return None


def info_for_name(name: str) -> OpInfo | None:
    """Classify a torch-level name; None when it is a metadata query, not an op."""
    base = base_name(name)
    if base in META_NAMES or name in META_NAMES:
        return None
    info = aten_info(base)
    if info is not None:
        return info
    kind = name_kind(base)
    pattern = Pattern.INJECTIVE if kind is not OpKind.COMPUTE else Pattern.OPAQUE
    return OpInfo(base, kind, pattern, classified=kind is not OpKind.COMPUTE)


def callable_name(func: Any) -> str:
    """The torch-level name of what a TorchFunctionMode received (`matmul`, `shape`, `view.default`)."""
    if isinstance(func, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return str(func).split("aten.")[-1]
    name = getattr(func, "__name__", None) or type(func).__name__
    if name in ("__get__", "__set__"):
        # A property access such as `x.shape`: the descriptor carries the attribute name.
        owner = getattr(func, "__self__", None)
        return getattr(owner, "__name__", name)
    return name


def info_for_callable(func: Any) -> OpInfo | None:
    """Classify a callable seen by a TorchFunctionMode; None for metadata queries."""
    if isinstance(func, torch._ops.OpOverload):
        return op_info(func)
    if isinstance(func, torch._ops.OpOverloadPacket):
        overloads = func.overloads()
        return op_info(getattr(func, overloads[0])) if overloads else None
    name = callable_name(func)
    if getattr(func, "__name__", "") in ("__get__", "__set__"):
        return None  # property reads and writes (x.shape, x.T, x.data) move no values
    return info_for_name(name)


def is_view_callable(func: Any) -> bool:
    """Whether a torch-level callable is a view op (`expand`, `view`, `x.T`): moves no data."""
    if isinstance(func, torch._ops.OpOverload):
        return bool(func.is_view)
    if getattr(func, "__name__", "") in ("__get__", "__set__"):
        return True
    packet = getattr(torch.ops.aten, base_name(callable_name(func)), None)
    if packet is None:
        return False
    try:
        overloads = packet.overloads()
        return bool(overloads) and bool(getattr(packet, overloads[0]).is_view)
    except (AttributeError, RuntimeError):
        return False
