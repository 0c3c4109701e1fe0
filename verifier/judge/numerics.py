"""Comparing outputs: leaf by leaf, degenerate outputs, mutated inputs, first divergence.

Everything here runs in the judging process on tensors loaded with `weights_only=True`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from hdecomp_ir.spec import (DIVERGENCE_MIN_ATOL, DIVERGENCE_MIN_RTOL, DIVERGENCE_SLACK,
                             FP64_REF_DTYPES, FP64_REF_MULTIPLIER, FP64_REF_SLACK,
                             WEAK_SIGNAL_FACTOR, WEAK_SIGNAL_REL_ATOL)
from tensors.compare import LeafDiff, finite_or_text, leaves, same_values, tensor_diff
from tensors.compare import compare as compare_leaves
from verifier.report import Violation

# WEAK_SIGNAL_FACTOR (spec): a leaf whose original never exceeds this many atols cannot tell a
# right answer from zeros by the tolerance table alone; weak_signal() judges it by its own scale.


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


def degenerate(orig: Any, ref: Any, inputs: list[Any], rtol: float = 0.0,
               atol: float = 0.0) -> list[Violation]:
    """Zeros, constants, NaN/Inf and copies of an input (exact, or to within rounding where the
    original adds a change the tolerance cannot see) where the original's output is none of those."""
    found = []
    input_tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
    ref_leaves = dict(leaves(ref))
    for path, o in leaves(orig):
        r = ref_leaves.get(path)
        if not isinstance(o, torch.Tensor) or not isinstance(r, torch.Tensor) or \
                o.shape != r.shape or o.numel() == 0 or not o.is_floating_point():
            continue
        if r.is_floating_point() and not bool(torch.isfinite(r).all()):
            bad = ~torch.isfinite(r) & torch.isfinite(o)
            if bool(bad.any()):
                what = "NaN" if bool(torch.isnan(r[bad]).any()) else "Inf"
                found.append(_numeric("nonfinite_output", f"{path} holds {what} at "
                                      f"{int(bad.sum())} place(s) where the original's output is "
                                      "finite"))
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
            if x.shape == r.shape and x.dtype == r.dtype and _near_copy(o, r, x, rtol, atol):
                found.append(_numeric("degenerate_output", f"{path} is input {k} to within "
                                      "rounding, and misses what the original adds to it (a "
                                      "residual too small for the tolerance): a copy of the "
                                      "input proves nothing"))
                break
    return found


def _near_copy(o: torch.Tensor, r: torch.Tensor, x: torch.Tensor, rtol: float, atol: float) -> bool:
    """The original is its input plus a change too small for the tolerance (x + 1e-6 * f(x))
    and the refactored misses that change: compared on the elements where the change stands
    clear of rounding, the refactored's change is wrong by more than half on average."""
    if not x.is_floating_point():
        return False
    # Cheap exit first (one pass in the output's dtype): most outputs are far from their input.
    limit = WEAK_SIGNAL_FACTOR * (atol + rtol * _peak(o))
    if _peak(o - x) >= limit:
        return False
    o64, r64, x64 = o.double(), r.double(), x.double()
    d_o, d_r = o64 - x64, r64 - x64
    finite = torch.isfinite(d_o) & torch.isfinite(d_r)
    if not bool(finite.any()):
        return False
    # Only a change the tolerance cannot see (else the comparison itself judges it).
    if float(d_o[finite].abs().max()) >= WEAK_SIGNAL_FACTOR * (atol + rtol * float(o64[finite].abs().max())):
        return False
    rounding = 4 * torch.finfo(x.dtype).eps * x64.abs()
    clear = finite & (d_o.abs() > 4 * rounding) & (d_o.abs() > 0)
    if int(clear.sum()) < max(1, clear.numel() // 10):
        return False
    miss = ((d_r - d_o).abs() / d_o.abs())[clear]
    return float(miss.mean()) > 0.5


def weak_signal(orig: Any, ref: Any, rtol: float, atol: float) -> list[Violation]:
    """Leaves whose original is too small for atol, compared relative to their own scale.

    Where max|orig| < WEAK_SIGNAL_FACTOR * atol, zeros or a rough approximation pass the
    tolerance table; such a leaf must also satisfy
    |ref - orig| <= rtol * |orig| + WEAK_SIGNAL_REL_ATOL * max|orig|.
    """
    found = []
    ref_leaves = dict(leaves(ref))
    for path, o in leaves(orig):
        r = ref_leaves.get(path)
        if not isinstance(o, torch.Tensor) or not isinstance(r, torch.Tensor) or \
                o.shape != r.shape or o.numel() == 0 or not o.is_floating_point() or \
                not r.is_floating_point():
            continue
        scale = _peak(o)  # one pass in the output's dtype: most outputs are not weak
        if scale == 0.0 or scale >= WEAK_SIGNAL_FACTOR * atol:
            continue
        o64, r64 = o.double(), r.double()
        finite = torch.isfinite(o64)
        err = (r64 - o64).abs()
        allowed = rtol * o64.abs() + WEAK_SIGNAL_REL_ATOL * scale
        bad = finite & ~(err <= allowed)
        if bool(bad.any()):
            worst = float(err[finite].max())
            found.append(_numeric("weak_signal", f"{path}: the original's output peaks at "
                                  f"{scale:.3g}, under {WEAK_SIGNAL_FACTOR:g}x atol ({atol:g}), so "
                                  f"it is compared to its own scale: max abs diff {worst:.3g} "
                                  f"exceeds {WEAK_SIGNAL_REL_ATOL:g} x {scale:.3g} at "
                                  f"{int(bad.sum())} place(s)"))
    return found


def wide_atol_scale(outputs: Any) -> float:
    """max(1, max |finite floating output|): the factor by which a wide trial's atol grows."""
    peak = 1.0
    for _path, leaf in leaves(outputs):
        if isinstance(leaf, torch.Tensor) and leaf.is_floating_point() and leaf.numel():
            peak = max(peak, _peak(leaf))
    return peak


def _peak(t: torch.Tensor) -> float:
    """max |finite value| of a floating tensor (0.0 when it has none)."""
    if not t.numel():
        return 0.0
    return float(torch.nan_to_num(t.detach().abs(), nan=0.0, posinf=0.0).max())


def _rms(t: torch.Tensor) -> float:
    return float(t.pow(2).mean().sqrt()) if t.numel() else 0.0


def fp64_reference(orig: torch.Tensor, ref: torch.Tensor, ref64: Any,
                   atol: float) -> dict[str, Any] | None:
    """The fp16/bf16 rule: the candidate's error against the reference run (float64, or float32
    where float64 did not fit) is no worse than FP64_REF_MULTIPLIER times the original's own (RMS
    and max), plus FP64_REF_SLACK x atol.

    None when the rule does not apply (not fp16/bf16, no reference, shapes differ).
    """
    if orig.dtype not in FP64_REF_DTYPES or ref.dtype != orig.dtype or \
            not isinstance(ref64, torch.Tensor) or ref64.shape != orig.shape:
        return None
    gold = ref64.double()
    finite = torch.isfinite(gold) & torch.isfinite(orig.double())
    if not bool(finite.any()) or not bool(torch.isfinite(ref.double())[finite].all()):
        return None
    err_orig = (orig.double() - gold)[finite].abs()
    err_ref = (ref.double() - gold)[finite].abs()
    slack = FP64_REF_SLACK * atol
    rms_orig, rms_ref = _rms(err_orig), _rms(err_ref)
    max_orig, max_ref = float(err_orig.max()), float(err_ref.max())
    passed = rms_ref <= FP64_REF_MULTIPLIER * rms_orig + slack and \
        max_ref <= FP64_REF_MULTIPLIER * max_orig + slack
    return {"rule": "fp64_reference", "pass": passed, "multiplier": FP64_REF_MULTIPLIER,
            "reference_dtype": str(ref64.dtype).replace("torch.", ""),
            "rms_error_refactored": rms_ref, "rms_error_original": rms_orig,
            "max_error_refactored": max_ref, "max_error_original": max_orig}


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


def leaves_tensors(value: Any) -> list[torch.Tensor]:
    """The tensor leaves of an input or output tree."""
    return [t for _p, t in leaves(value) if isinstance(t, torch.Tensor)]


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
                        "output": out_index, "shape": fp["shape"], "last_matching": last_good,
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
