"""Comparing two output trees leaf by leaf: max abs/rel difference, allclose, the worst element.

One comparison for the verifier, the front end's specialization check and the composition test.
Vectorised over each leaf; nothing here loops over elements in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import torch


@dataclass(frozen=True)
class Mismatch:
    """Two trees that cannot be compared value by value (structure, shape or dtype differ)."""

    rule: str
    message: str


@dataclass
class LeafDiff:
    """One output leaf compared."""

    path: str
    shape: list[int]
    dtype: str
    max_abs: float
    max_rel: float
    passed: bool
    worst_index: list[int] | None = None
    ref_value: float | None = None
    orig_value: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"leaf": self.path, "shape": self.shape, "dtype": self.dtype,
                "max_abs_diff": finite_or_text(self.max_abs), "max_rel_diff": finite_or_text(self.max_rel),
                "pass": self.passed, "worst_index": self.worst_index,
                "refactored_value": finite_or_text(self.ref_value), "original_value": finite_or_text(self.orig_value)}


def finite_or_text(value: float | None) -> float | str | None:
    if value is None:
        return None
    return value if math.isfinite(value) else str(value)


def leaves(tree: Any, path: str = "out") -> Iterator[tuple[str, Any]]:
    """(path, leaf) pairs: `out`, `out[0]`, `out['logits']`."""
    if isinstance(tree, (tuple, list)):
        for i, item in enumerate(tree):
            yield from leaves(item, f"{path}[{i}]")
    elif isinstance(tree, dict):
        for key in tree:
            yield from leaves(tree[key], f"{path}[{key!r}]")
    else:
        yield path, tree


def compare(orig: Any, ref: Any, rtol: float, atol: float,
            path: str = "out") -> tuple[list[LeafDiff], list[Mismatch]]:
    """Compare two output trees leaf by leaf; structural problems come back as mismatches."""
    diffs: list[LeafDiff] = []
    problems: list[Mismatch] = []
    _compare(orig, ref, rtol, atol, path, diffs, problems)
    return diffs, problems


def _compare(orig: Any, ref: Any, rtol: float, atol: float, path: str, diffs: list[LeafDiff],
             problems: list[Mismatch]) -> None:
    if isinstance(orig, torch.Tensor):
        if not isinstance(ref, torch.Tensor):
            problems.append(Mismatch("structure_mismatch", f"{path}: the original returns a tensor, "
                                     f"the refactored a {type(ref).__name__}"))
            return
        if tuple(orig.shape) != tuple(ref.shape):
            problems.append(Mismatch("shape_mismatch", f"{path}: shape {list(ref.shape)}, the "
                                     f"original's is {list(orig.shape)}"))
            return
        if orig.dtype != ref.dtype:
            problems.append(Mismatch("dtype_mismatch", f"{path}: dtype {_dt(ref.dtype)}, the "
                                     f"original's is {_dt(orig.dtype)}; keep the original dtypes"))
            return
        diffs.append(tensor_diff(orig, ref, rtol, atol, path))
        return
    if isinstance(orig, (tuple, list)):
        if not isinstance(ref, (tuple, list)) or len(ref) != len(orig):
            what = f"{type(ref).__name__} of {len(ref)}" if isinstance(ref, (tuple, list)) else \
                type(ref).__name__
            problems.append(Mismatch("structure_mismatch", f"{path}: the original returns a "
                                     f"{type(orig).__name__} of {len(orig)}, the refactored a {what}"))
            return
        for i, (o, r) in enumerate(zip(orig, ref)):
            _compare(o, r, rtol, atol, f"{path}[{i}]", diffs, problems)
        return
    if isinstance(orig, dict):
        if not isinstance(ref, dict) or set(ref) != set(orig):
            problems.append(Mismatch("structure_mismatch", f"{path}: keys differ from the original's "
                                     f"{sorted(map(str, orig))}"))
            return
        for key in orig:
            _compare(orig[key], ref[key], rtol, atol, f"{path}[{key!r}]", diffs, problems)
        return
    if isinstance(orig, float) and isinstance(ref, (int, float)) and not isinstance(ref, bool):
        ok = math.isclose(ref, orig, rel_tol=rtol, abs_tol=atol) or (math.isnan(orig) and math.isnan(ref))
        diffs.append(LeafDiff(path, [], "float", abs(ref - orig), 0.0, ok))
        return
    if type(orig) is not type(ref) or orig != ref:
        problems.append(Mismatch("structure_mismatch", f"{path}: {ref!r}, the original returns {orig!r}"))


def _dt(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def tensor_diff(orig: torch.Tensor, ref: torch.Tensor, rtol: float, atol: float,
                path: str) -> LeafDiff:
    """Max abs/rel difference, pass/fail under allclose, and the worst element."""
    shape, dtype = list(orig.shape), _dt(orig.dtype)
    if orig.numel() == 0:
        return LeafDiff(path, shape, dtype, 0.0, 0.0, True)
    if not (orig.is_floating_point() or orig.is_complex()):
        if orig.dtype == torch.bool:
            wrong = (orig != ref)
            return LeafDiff(path, shape, dtype, float(wrong.sum()), 0.0, not bool(wrong.any()),
                            *_worst(wrong.to(torch.float64), orig, ref))
        diff = (ref.to(torch.float64) - orig.to(torch.float64)).abs()
        return LeafDiff(path, shape, dtype, float(diff.max()), 0.0, bool(torch.equal(orig, ref)),
                        *_worst(diff, orig, ref))
    o, r = orig.to(torch.float64), ref.to(torch.float64)
    # Equal values (equal infinities from -inf masking included) and NaN against NaN agree.
    both_nan = (torch.isnan(o) & torch.isnan(r)) | (o == r)
    diff = torch.where(both_nan, torch.zeros_like(o), (r - o).abs())
    diff = torch.nan_to_num(diff, nan=math.inf, posinf=math.inf)
    # An infinite original is matched only exactly (above); no tolerance stretches to it.
    allowed = torch.where(torch.isfinite(o), atol + rtol * o.abs(), torch.full_like(o, atol))
    excess = torch.where(both_nan, torch.full_like(diff, -1.0), diff - allowed)
    passed = bool((excess <= 0).all())
    rel = torch.nan_to_num(diff / o.abs().clamp_min(max(atol, 1e-30)), nan=0.0)
    return LeafDiff(path, shape, dtype, float(diff.max()), float(rel.max()), passed,
                    *_worst(excess, orig, ref))


def _worst(score: torch.Tensor, orig: torch.Tensor, ref: torch.Tensor) -> tuple[list[int], float, float]:
    flat = int(torch.argmax(torch.nan_to_num(score.reshape(-1).to(torch.float64), nan=math.inf)))
    index = [int(i) for i in torch.unravel_index(torch.tensor(flat), orig.shape)] if orig.dim() else []
    pick = tuple(index)
    return index, float(ref[pick].to(torch.float64)), float(orig[pick].to(torch.float64))


def same_values(a: Any, b: Any) -> bool:
    """Bitwise equality of two trees (NaNs at the same places count as equal)."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.to("cpu"), b.to("cpu")
        if a.is_floating_point() or a.is_complex():
            return bool(torch.equal(torch.nan_to_num(a), torch.nan_to_num(b)) and
                        torch.equal(torch.isnan(a), torch.isnan(b)))
        return bool(torch.equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b))
    return a == b if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor) else False
