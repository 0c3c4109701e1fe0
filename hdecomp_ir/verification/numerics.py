"""Comparing outputs: leaf by leaf, degenerate outputs, mutated inputs, first divergence.

Everything here runs in the judging process on tensors loaded with `weights_only=True`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from hdecomp_ir.verification.report import Violation

# A step whose original output never exceeds this many atols cannot tell a right answer from zeros.
WEAK_SIGNAL_FACTOR = 10.0
# Divergence search matches sampled values loosely: it looks for the first big departure.
DIVERGENCE_SLACK = 10.0


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
                "max_abs_diff": _finite(self.max_abs), "max_rel_diff": _finite(self.max_rel),
                "pass": self.passed, "worst_index": self.worst_index,
                "refactored_value": _finite(self.ref_value), "original_value": _finite(self.orig_value)}


def _finite(value: float | None) -> float | str | None:
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
            path: str = "out") -> tuple[list[LeafDiff], list[Violation]]:
    """Compare two output trees; structural problems come back as violations."""
    diffs: list[LeafDiff] = []
    problems: list[Violation] = []
    _compare(orig, ref, rtol, atol, path, diffs, problems)
    return diffs, problems


def _compare(orig: Any, ref: Any, rtol: float, atol: float, path: str, diffs: list[LeafDiff],
             problems: list[Violation]) -> None:
    if isinstance(orig, torch.Tensor):
        if not isinstance(ref, torch.Tensor):
            problems.append(_numeric("structure_mismatch", f"{path}: the original returns a tensor, "
                                     f"the refactored a {type(ref).__name__}"))
            return
        if tuple(orig.shape) != tuple(ref.shape):
            problems.append(_numeric("shape_mismatch", f"{path}: shape {list(ref.shape)}, the "
                                     f"original's is {list(orig.shape)}"))
            return
        if orig.dtype != ref.dtype:
            problems.append(_numeric("dtype_mismatch", f"{path}: dtype {_dt(ref.dtype)}, the "
                                     f"original's is {_dt(orig.dtype)}; keep the original dtypes"))
            return
        diffs.append(tensor_diff(orig, ref, rtol, atol, path))
        return
    if isinstance(orig, (tuple, list)):
        if not isinstance(ref, (tuple, list)) or len(ref) != len(orig):
            what = f"{type(ref).__name__} of {len(ref)}" if isinstance(ref, (tuple, list)) else \
                type(ref).__name__
            problems.append(_numeric("structure_mismatch", f"{path}: the original returns a "
                                     f"{type(orig).__name__} of {len(orig)}, the refactored a {what}"))
            return
        for i, (o, r) in enumerate(zip(orig, ref)):
            _compare(o, r, rtol, atol, f"{path}[{i}]", diffs, problems)
        return
    if isinstance(orig, dict):
        if not isinstance(ref, dict) or set(ref) != set(orig):
            problems.append(_numeric("structure_mismatch", f"{path}: keys differ from the original's "
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
        problems.append(_numeric("structure_mismatch", f"{path}: {ref!r}, the original returns {orig!r}"))


def _dt(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _numeric(rule: str, message: str) -> Violation:
    return Violation(rule, message, None, None, "numerics")


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


def degenerate(orig: Any, ref: Any, inputs: list[Any]) -> list[Violation]:
    """Zeros, constants and copies of an input where the original's output is none of those."""
    found = []
    input_tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
    ref_leaves = dict(leaves(ref))
    for path, o in leaves(orig):
        r = ref_leaves.get(path)
        if not isinstance(o, torch.Tensor) or not isinstance(r, torch.Tensor) or \
                o.shape != r.shape or o.numel() == 0 or not o.is_floating_point():
            continue
        if not bool(r.any()) and bool(o.any()):
            found.append(_numeric("degenerate_output", f"{path} is all zeros and the original's is "
                                  f"not (max |original| {float(o.abs().max()):.3g}): a zero output "
                                  "proves nothing"))
            continue
        flat_r, flat_o = r.reshape(-1), o.reshape(-1)
        if r.numel() > 1 and bool((flat_r == flat_r[0]).all()) and not bool((flat_o == flat_o[0]).all()):
            found.append(_numeric("degenerate_output", f"{path} is the constant {float(flat_r[0]):.4g} "
                                  "and the original's output varies"))
            continue
        for k, x in enumerate(input_tensors):
            if x.shape == r.shape and x.dtype == r.dtype and torch.equal(x, r) and not torch.equal(x, o):
                found.append(_numeric("degenerate_output", f"{path} is a copy of input {k} and the "
                                      "original's output is not"))
                break
    return found


def magnitude(outputs: list[Any], atol: float) -> dict[str, Any]:
    """Size of the original's floating outputs against atol."""
    max_abs, total, count = 0.0, 0.0, 0
    for tree in outputs:
        for _path, leaf in leaves(tree):
            if isinstance(leaf, torch.Tensor) and leaf.is_floating_point() and leaf.numel():
                values = leaf.to(torch.float64).abs()
                values = values[torch.isfinite(values)]
                if values.numel():
                    max_abs = max(max_abs, float(values.max()))
                    total += float(values.sum())
                    count += values.numel()
    mean_abs = total / count if count else 0.0
    ratio = max_abs / atol if atol > 0 else math.inf
    weak = count > 0 and max_abs < WEAK_SIGNAL_FACTOR * atol
    return {"max_abs": max_abs, "mean_abs": mean_abs, "atol": atol,
            "max_abs_over_atol": _finite(ratio), "weak": weak, "floating_leaves": count > 0}


def input_changes(pristine: list[Any], ref_after: list[Any], orig_after: list[Any] | None,
                  orig_mutated: list[bool], rtol: float, atol: float) -> list[Violation]:
    """Inputs the refactored forward changed where (or unlike how) the original does."""
    found = []
    for k, (before, after) in enumerate(zip(pristine, ref_after)):
        if same_values(before, after):
            continue
        if k < len(orig_mutated) and orig_mutated[k] and orig_after is not None:
            expected = orig_after[k]
            if isinstance(expected, torch.Tensor) and isinstance(after, torch.Tensor) and \
                    expected.shape == after.shape and tensor_diff(expected, after, rtol, atol, "").passed:
                continue
            found.append(_numeric("input_mutated", f"input {k}: the refactored forward changes it "
                                  "differently from how the original does"))
        else:
            found.append(_numeric("input_mutated", f"input {k}: the refactored forward changes it in "
                                  "place and the original does not; copy before writing"))
    return found


def first_divergence(orig_fps: list[dict[str, Any]], child_fps: list[dict[str, Any]],
                     rtol: float, atol: float) -> dict[str, Any] | None:
    """The first child call whose output matches no intermediate value of the original."""
    if not child_fps:
        return None
    by_shape: dict[tuple, list[torch.Tensor]] = {}
    for fp in orig_fps:
        by_shape.setdefault((tuple(fp["shape"]), fp["dtype"]), []).append(fp["samples"])
    r_tol, a_tol = max(rtol * DIVERGENCE_SLACK, 1e-4), max(atol * DIVERGENCE_SLACK, 1e-5)
    last_good = None
    for index, call in enumerate(child_fps):
        for out_index, fp in enumerate(call["outputs"]):
            candidates = by_shape.get((tuple(fp["shape"]), fp["dtype"]), [])
            if not any(torch.allclose(fp["samples"], c, rtol=r_tol, atol=a_tol, equal_nan=True)
                       for c in candidates):
                return {"child": call["child"], "file": call["file"], "call": index,
                        "output": out_index, "shape": fp["shape"],
                        "message": (f"child `{call['child']}` ({call['file']}, call {index}) is the "
                                    "first whose output matches no intermediate value of the "
                                    "original" + (f"; the last matching child is `{last_good}`"
                                                  if last_good else "")
                                    + ": check its inputs, its weights and the plumbing before it")}
        last_good = call["child"]
    return {"child": None, "file": None, "call": None,
            "message": "every child output matches an intermediate value of the original: the "
                       "difference comes from the plumbing in refactored forward() after the "
                       f"last child call (`{last_good}`)"}
