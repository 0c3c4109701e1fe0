"""The tensors of a model: every parameter, buffer and plain tensor attribute, tied ones merged.

Below the front end, the verifier and the composition test, which all need the same answer to
"which tensors does this model hold, under which names".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from hdecomp_ir.errors import UserInputError

# Integer buffers such as BatchNorm's num_batches_tracked carry no state for an eval forward.
IGNORED_BUFFER_SUFFIXES = ("num_batches_tracked",)


@dataclass(frozen=True)
class TensorMeta:
    """One distinct tensor of a model: every name it is reachable under, in module order."""

    names: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    kind: str  # "param" or "buffer"
    floating: bool
    persistent: bool = True

    @property
    def name(self) -> str:
        return self.names[0]

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "shape": list(self.shape), "dtype": self.dtype,
                "kind": self.kind, "floating": self.floating, "persistent": self.persistent}

    @staticmethod
    def from_json(data: dict[str, Any]) -> "TensorMeta":
        return TensorMeta(tuple(data["names"]), tuple(data["shape"]), data["dtype"], data["kind"],
                          bool(data["floating"]), bool(data.get("persistent", True)))


def collect_tensors(model: torch.nn.Module) -> tuple[list[TensorMeta], dict[str, torch.Tensor]]:
    """Distinct parameters and buffers (tied ones merged, non-persistent buffers and plain tensor
    attributes included).

    Returns the metadata in module order and a map from each canonical name to its tensor.
    """
    order: list[int] = []
    names: dict[int, list[str]] = {}
    info: dict[int, tuple[torch.Tensor, str, bool]] = {}
    for mod_name, module in model.named_modules(remove_duplicate=False):
        prefix = f"{mod_name}." if mod_name else ""
        non_persistent = getattr(module, "_non_persistent_buffers_set", set())
        entries: list[tuple[str, torch.Tensor | None, str, bool]] = []
        entries += [(n, p, "param", True) for n, p in module.named_parameters(recurse=False)]
        entries += [(n, b, "buffer", n not in non_persistent)
                    for n, b in module.named_buffers(recurse=False)]
        # Plain tensor attributes (`self.h0 = torch.randn(...)`) are state the forward reads:
        # torch.export lifts them as constants and the generated files hold them as buffers.
        entries += [(n, v, "buffer", False) for n, v in vars(module).items()
                    if isinstance(v, torch.Tensor) and not n.startswith("_")]
        for local, tensor, kind, persistent in entries:
            if tensor is None:
                continue
            key = id(tensor)
            if key not in names:
                order.append(key)
                names[key] = []
                info[key] = (tensor, kind, persistent)
            full = prefix + local
            if full not in names[key]:
                names[key].append(full)
    metas, tensors = [], {}
    for key in order:
        tensor, kind, persistent = info[key]
        meta = TensorMeta(tuple(names[key]), tuple(tensor.shape), str(tensor.dtype).replace("torch.", ""),
                          kind, tensor.is_floating_point() or tensor.is_complex(), persistent)
        metas.append(meta)
        tensors[meta.name] = tensor
    return metas, tensors


def tensors_by_name(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every name a tensor of `model` is reachable under (tied names included) -> the tensor."""
    metas, tensors = collect_tensors(model)
    return {name: tensors[meta.name] for meta in metas for name in meta.names}


def copy_mapped(original: torch.nn.Module, composed: torch.nn.Module,
                weight_map: Mapping[str, str | Sequence[str]]) -> None:
    """Copy the tensors of `original` into `composed` under the names `weight_map` gives them.

    `weight_map` maps a name in `original` (a parameter, a buffer, a plain tensor attribute, or
    any of the names of a tied weight) to its name in `composed`, or to a list of names where
    one tensor feeds several components. Values are copied in place, without autograd; a
    name that either model lacks, or two shapes that differ, raise UserInputError naming the
    entry, since the weight map then no longer matches the models.
    """
    source = tensors_by_name(original)
    target = tensors_by_name(composed)
    fix = "lower the model again, or correct the weight map"
    with torch.no_grad():
        for src, dst in weight_map.items():
            if src not in source:
                raise UserInputError(f"the weight map names {src!r}, which the original model "
                                     "does not hold", fix=fix)
            for name in [dst] if isinstance(dst, str) else dst:
                if name not in target:
                    raise UserInputError(f"the weight map copies {src!r} to {name!r}, which the "
                                         "composed model does not hold", fix=fix)
                value, into = source[src], target[name]
                if tuple(value.shape) != tuple(into.shape):
                    raise UserInputError(f"the weight map copies {src!r} {list(value.shape)} to "
                                         f"{name!r} {list(into.shape)}", fix=fix)
                into.copy_(value)
