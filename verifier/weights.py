"""Weight transfer: which original tensor goes where, decided from metadata alone.

The plan is computed from (name, shape, dtype, kind) records, never from the models, so the
parent (which never imports the untrusted code) recomputes it and checks the worker applied the
same plan. Order of preference: weight_map.json entries, exact names, then structural matching
(module order and shape). Parameters and buffers are matched separately: a parameter never lands
in a buffer, so a parent cannot hold a weight outside its children under a buffer's name.

Before the transfer the worker re-randomizes the original's floating tensors with the verifier's
own seed (`reinitialize`), so a step that leaves weights at their default init fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import torch

from hdecomp_ir.spec import REINIT_SEED, WEIGHT_MAP_JSON
from tensors.collect import IGNORED_BUFFER_SUFFIXES, TensorMeta, collect_tensors
from verifier.report import Violation

# Normalisation statistics are state, whatever their default values: always re-randomized.
STAT_SUFFIXES = ("running_mean", "running_var")


# Tensors are redrawn a slice at a time: a whole-tensor float32 copy, its finite mask and its
# fresh values cost about five times a large expert weight (a 2-layer gpt-oss-120b's experts
# asked for 25 GB at once); one chunk of 16M elements costs 64 MB.
REINIT_CHUNK = 1 << 24


def _chunks(tensor: torch.Tensor) -> Iterator[torch.Tensor]:
    flat = tensor.detach().reshape(-1)
    for start in range(0, flat.numel(), REINIT_CHUNK):
        yield flat[start:start + REINIT_CHUNK].to("cpu", torch.float32)


def _stats(tensor: torch.Tensor) -> tuple[int, float, float, bool, bool, bool, bool]:
    """(finite count, mean, std of the finite values, all finite values > 0, has 0, has 1,
    only 0s and 1s) in one pass of float32 chunks, accumulated in float64."""
    count, total, squares = 0, 0.0, 0.0
    positive, has_zero, has_one, zeros_ones = True, False, False, True
    for values in _chunks(tensor):
        finite = values[torch.isfinite(values)].double()
        count += finite.numel()
        total += float(finite.sum())
        squares += float((finite * finite).sum())
        positive = positive and bool((finite > 0).all())
        has_zero = has_zero or bool((values == 0).any())
        has_one = has_one or bool((values == 1).any())
        zeros_ones = zeros_ones and bool(((values == 0) | (values == 1)).all())
    mean = total / count if count else 0.0
    var = (squares - count * mean * mean) / (count - 1) if count > 1 else 0.0
    return count, mean, max(var, 0.0) ** 0.5, positive, has_zero, has_one, zeros_ones


@torch.no_grad()
def reinitialize(metas: list[TensorMeta], tensors: dict[str, torch.Tensor],
                 seed: int = REINIT_SEED) -> list[str]:
    """Give every floating parameter and buffer fresh values drawn from the verifier's seed.

    Scales follow the tensor's current values so activations stay in a sensible range. Kept as
    they are: integer and bool buffers (counters, masks, indices) and float buffers that are masks
    (both 0 and 1 and nothing else) or hold non-finite values (-inf masks), since models rely on
    their structure. Variances (`running_var`, or any buffer positive throughout) stay positive.
    Returns the names of the tensors kept as they were.
    """
    gen = torch.Generator().manual_seed(seed)
    kept = []
    for meta in metas:
        tensor = tensors[meta.name]
        if not meta.floating or tensor.numel() == 0 or tensor.is_complex():
            kept.append(meta.name)
            continue
        count, mean, std, positive, has_zero, has_one, zeros_ones = _stats(tensor)
        if meta.kind == "buffer" and not meta.name.endswith(STAT_SUFFIXES):
            if count < tensor.numel() or (zeros_ones and has_zero and has_one):
                kept.append(meta.name)
                continue
        positive = meta.name.endswith("running_var") or (
            meta.kind == "buffer" and count > 0 and positive)
        scale = max(std, 0.1 * abs(mean), 0.02)
        flat = tensor.detach().view(-1) if tensor.is_contiguous() else None
        target = flat if flat is not None else torch.empty(tensor.numel(), dtype=tensor.dtype)
        for start in range(0, tensor.numel(), REINIT_CHUNK):
            n = min(REINIT_CHUNK, tensor.numel() - start)
            if positive:
                fresh = torch.rand(n, generator=gen) + 0.5
            else:
                fresh = torch.randn(n, generator=gen) * scale + mean
            target[start:start + n].copy_(fresh)
        if flat is None:
            tensor.detach().copy_(target.view(tensor.shape))
    return kept


@dataclass
class TransferPlan:
    """Original canonical name -> refactored canonical names, plus what did not match."""

    assignments: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # refactored name -> how it matched
    errors: list[Violation] = field(default_factory=list)
    unmapped_refactored: list[str] = field(default_factory=list)
    unmapped_original: list[str] = field(default_factory=list)

    @property
    def mapped_count(self) -> int:
        return sum(len(v) for v in self.assignments.values())

    def method(self) -> str:
        kinds = sorted(set(self.sources.values()))
        return kinds[0] if len(kinds) == 1 else ("mixed:" + "+".join(kinds) if kinds else "none")

    def to_json(self) -> dict[str, Any]:
        return {"assignments": self.assignments, "sources": self.sources,
                "errors": [e.to_json() for e in self.errors],
                "unmapped_refactored": self.unmapped_refactored,
                "unmapped_original": self.unmapped_original}

    def same_as(self, other: dict[str, Any]) -> bool:
        """Whether a plan reported by a worker equals this one."""
        return other.get("assignments") == self.assignments and \
            other.get("sources") == self.sources


def _compatible(orig: TensorMeta, ref: TensorMeta) -> str | None:
    """Why a tensor cannot go into another, or None when it can."""
    if orig.kind != ref.kind:
        return f"a {orig.kind} cannot go into a {ref.kind}"
    if orig.shape != ref.shape:
        return f"shape {list(orig.shape)} vs {list(ref.shape)}"
    if orig.dtype != ref.dtype:
        return f"dtype {orig.dtype} vs {ref.dtype}"
    return None


def plan_transfer(original: list[TensorMeta], refactored: list[TensorMeta],
                  weight_map: dict[str, list[str]] | None, *, map_file: str = WEIGHT_MAP_JSON,
                  used_original: Iterable[str] | None = None) -> TransferPlan:
    """Decide where each original tensor goes.

    `weight_map` is the parsed weight_map.json (values normalised to lists). `used_original` names
    the original tensors its forward actually reads; an unmatched one of those is a failure,
    an unmatched unused one is not.
    """
    plan = TransferPlan()
    orig_by_name = {n: m for m in original for n in m.names}
    ref_by_name = {n: m for m in refactored for n in m.names}
    owner: dict[str, str] = {}  # refactored canonical -> original canonical
    consumed: set[tuple[str, str]] = set()  # (original canonical, alias) slots already used

    def assign(orig: TensorMeta, ref: TensorMeta, how: str, alias: str | None) -> None:
        owner[ref.name] = orig.name
        plan.assignments.setdefault(orig.name, []).append(ref.name)
        plan.sources[ref.name] = how
        consumed.add((orig.name, alias or orig.name))

    for key, values in (weight_map or {}).items():
        orig = orig_by_name.get(key)
        if orig is None:
            plan.errors.append(Violation(
                "weight_map_entry", f"key '{key}' is not a parameter or buffer of the original"
                f"{_closest(key, orig_by_name)}", map_file, None, "weight_transfer"))
            continue
        for value in values:
            ref = ref_by_name.get(value)
            if ref is None:
                plan.errors.append(Violation(
                    "weight_map_entry", f"'{key}' -> '{value}': the refactored model has no "
                    f"parameter or buffer '{value}'{_closest(value, ref_by_name)}", map_file, None,
                    "weight_transfer"))
                continue
            why = _compatible(orig, ref)
            if why is not None:
                plan.errors.append(Violation("weight_map_entry", f"'{key}' -> '{value}': {why}",
                                             map_file, None, "weight_transfer"))
                continue
            if ref.name in owner and owner[ref.name] != orig.name:
                plan.errors.append(Violation(
                    "weight_conflict", f"'{value}' receives both '{owner[ref.name]}' and '{key}'",
                    map_file, None, "weight_transfer"))
                continue
            if ref.name not in owner:
                assign(orig, ref, "weight_map", key)

    # Exact names: a refactored tensor reachable under the same name as an original one.
    for ref in refactored:
        if ref.name in owner:
            continue
        for alias in ref.names:
            orig = orig_by_name.get(alias)
            if orig is not None and _compatible(orig, ref) is None:
                assign(orig, ref, "exact", alias)
                break

    # Structure: the remaining tensors in module order, matched on kind, shape and dtype. Each
    # name of a tied original tensor is a slot, so a tied original can fill untied copies.
    # Tensors the weight map placed explicitly are not offered again.
    from_map = {orig_by_name[k].name for k in (weight_map or {}) if k in orig_by_name}
    slots = [(m, alias) for m in original for alias in m.names
             if (m.name, alias) not in consumed and m.name not in from_map]
    for ref in refactored:
        if ref.name in owner:
            continue
        for index, (orig, alias) in enumerate(slots):
            if _compatible(orig, ref) is None:
                assign(orig, ref, "structural", alias)
                del slots[index]
                break

    used = set(used_original) if used_original is not None else None
    for ref in refactored:
        if ref.name not in owner and not ref.name.endswith(IGNORED_BUFFER_SUFFIXES):
            plan.unmapped_refactored.append(ref.name)
    for orig in original:
        if orig.name in plan.assignments or orig.name.endswith(IGNORED_BUFFER_SUFFIXES):
            continue
        if used is None or any(n in used for n in orig.names):
            plan.unmapped_original.append(orig.name)
    return plan


def _closest(name: str, candidates: dict[str, Any]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""
