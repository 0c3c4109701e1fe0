"""Comparing outputs: leaf by leaf, degenerate outputs, mutated inputs, first divergence.

Everything here runs in the judging process on tensors loaded with `weights_only=True`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from hdecomp_ir.spec import DIVERGENCE_MIN_ATOL, DIVERGENCE_MIN_RTOL, DIVERGENCE_SLACK
from tensors.compare import LeafDiff, finite_or_text, leaves, same_values, tensor_diff
from tensors.compare import compare as compare_leaves
from verifier.report import Violation

# A step whose original output never exceeds this many atols cannot tell a right answer from zeros.
WEAK_SIGNAL_FACTOR = 10.0


def compare(orig: Any, ref: Any, rtol: float, atol: float,
            path: str = "out") -> tuple[list[LeafDiff], list[Violation]]:
    """`tensors.compare.compare` with structural mismatches as numeric violations."""
    diffs, mismatches = compare_leaves(orig, ref, rtol, atol, path)
    return diffs, [_numeric(m.rule, m.message) for m in mismatches]


def _numeric(rule: str, message: str) -> Violation:
    return Violation(rule, message, None, None, "numerics")


def nothing_to_compare(outputs: Any) -> str | None:
    """'all NaN' (or 'all NaN or Inf') when no floating output value of the original is finite."""
    floating = [t for _p, t in leaves(outputs) if isinstance(t, torch.Tensor)
                and (t.is_floating_point() or t.is_complex()) and t.numel()]
    if not floating or any(bool(torch.isfinite(t).any()) for t in floating):
        return None
    return "all NaN" if all(bool(torch.isnan(t).all()) for t in floating) else "all NaN or Inf"


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
            "max_abs_over_atol": finite_or_text(ratio), "weak": weak, "floating_leaves": count > 0}


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
    r_tol = max(rtol * DIVERGENCE_SLACK, DIVERGENCE_MIN_RTOL)
    a_tol = max(atol * DIVERGENCE_SLACK, DIVERGENCE_MIN_ATOL)
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
