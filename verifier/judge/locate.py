"""file:line for a numeric failure: the first statement whose value departs from the original.

`numerics.first_divergence` names the first child call whose output matches no intermediate
value of the original. This module turns that into a place in the step's source:

- the call site: the refactored.py line of that child call (recorded by the worker);
- inside the child: the first statement of its forward whose value matches no intermediate of
  the original, from the `locate` job's line trace (`verifier.runtime.linetrace`); when the
  child's own inputs already match none, the refactored.py statement that made them instead;
- for plumbing after the last child (every child output matches): the first refactored.py
  statement whose value matches none.

"The first statement whose value differs" is the first non-matching statement after the last
matching one: an honest decomposition may compute values the original never holds (a reshape,
a partial sum), and a later statement that matches again shows those were fine.

Everything read here comes from the untrusted worker and is used only to word a message:
a file must be one of the step's files and a line must exist in it, and nothing here changes a
verdict. Where no statement can be pinned, the call site is the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hdecomp_ir.spec import (DIVERGENCE_MIN_ATOL, DIVERGENCE_MIN_RTOL, DIVERGENCE_SLACK,
                             REFACTORED_FILE)


@dataclass
class Reference:
    """The original's intermediate values (and the trial's inputs) as sampled fingerprints,
    indexed by element count and dtype: a reshape keeps the flat order, so its samples are the
    same values and a view the refactored takes still matches."""

    rtol: float
    atol: float
    by_key: dict[tuple[int, str], list[torch.Tensor]] = field(default_factory=dict)

    @classmethod
    def build(cls, orig_fps: list[dict[str, Any]], input_fps: list[dict[str, Any]], rtol: float,
              atol: float) -> "Reference":
        ref = cls(max(rtol * DIVERGENCE_SLACK, DIVERGENCE_MIN_RTOL),
                  max(atol * DIVERGENCE_SLACK, DIVERGENCE_MIN_ATOL))
        for fp in list(orig_fps) + list(input_fps):
            ref.by_key.setdefault(_key(fp), []).append(fp["samples"])
        return ref

    def matches(self, fp: Any) -> bool:
        """Whether a fingerprint is (to the divergence tolerance) one of the reference values."""
        if not _well_formed(fp):
            return False
        return any(c.shape == fp["samples"].shape and
                   torch.allclose(fp["samples"], c, rtol=self.rtol, atol=self.atol, equal_nan=True)
                   for c in self.by_key.get(_key(fp), []))


def _key(fp: dict[str, Any]) -> tuple[int, str]:
    numel = 1
    for size in fp["shape"]:
        numel *= int(size)
    return numel, str(fp["dtype"])


def _well_formed(fp: Any) -> bool:
    return isinstance(fp, dict) and isinstance(fp.get("samples"), torch.Tensor) and \
        isinstance(fp.get("shape"), list) and all(isinstance(s, int) for s in fp["shape"]) and \
        isinstance(fp.get("dtype"), str) and fp["samples"].dtype == torch.float64


def pin(events: list[dict[str, Any]], ref: Reference) -> dict[str, Any] | None:
    """The first event after the last fully matching one that holds a value matching none."""
    matched = [all(ref.matches(fp) for fp in e["values"]) for e in events]
    last_good = max((i for i, ok in enumerate(matched) if ok), default=-1)
    return next((e for e, ok in zip(events[last_good + 1:], matched[last_good + 1:]) if not ok),
                None)


class StepSource:
    """The step's files as the judge knows them: which names exist and how long each is."""

    def __init__(self, step_dir: Path, child_files: list[str]) -> None:
        self.lines: dict[str, int] = {}
        for name in [REFACTORED_FILE, *child_files]:
            try:
                self.lines[name] = len((step_dir / name).read_text(errors="replace").splitlines())
            except OSError:
                continue

    def place(self, file: Any, line: Any) -> tuple[str, int] | None:
        """(file, line) when both name a line of one of the step's files, else None."""
        if isinstance(file, str) and type(line) is int and 1 <= line <= self.lines.get(file, 0):
            return file, line
        return None


def clean_trace(trace: Any, source: StepSource) -> dict[str, Any] | None:
    """The locate job's record with every malformed or foreign entry dropped (None if unusable)."""
    if not isinstance(trace, dict) or not isinstance(trace.get("events"), list):
        return None
    events = []
    for e in trace["events"]:
        if not isinstance(e, dict) or source.place(e.get("file"), e.get("line")) is None or \
                type(e.get("calls_done")) is not int or not isinstance(e.get("values"), list):
            continue
        events.append({"file": e["file"], "line": e["line"], "calls_done": e["calls_done"],
                       "in_child": e.get("in_child") is True, "values": e["values"]})
    inputs = trace.get("child_inputs")
    return {"events": events, "child_inputs": inputs if isinstance(inputs, list) else None,
            "call_site": trace.get("call_site")}


def place_divergence(divergence: dict[str, Any], child_fps: list[dict[str, Any]],
                     trace: dict[str, Any] | None, ref: Reference,
                     source: StepSource) -> dict[str, Any]:
    """`divergence` with `file`, `line`, `call_site` (and `child_file`) set and its message
    naming them; `trace` is clean_trace()'s record, or None when the locate job gave nothing."""
    found = dict(divergence)
    index = divergence.get("call")
    if divergence.get("child") is None:
        return _plumbing_after(found, trace, ref)
    call = child_fps[index] if isinstance(index, int) and 0 <= index < len(child_fps) else {}
    site = source.place(REFACTORED_FILE, call.get("line"))
    if site is None and trace is not None:
        site = source.place(REFACTORED_FILE, trace.get("call_site"))
    site_text = f"{site[0]}:{site[1]}" if site else REFACTORED_FILE
    found.update({"child_file": divergence.get("file"), "call_site": site_text if site else None,
                  "file": site[0] if site else REFACTORED_FILE, "line": site[1] if site else None})
    last = divergence.get("last_matching")
    head = (f"{site_text} calls child `{divergence['child']}` ({divergence.get('file')}, call "
            f"{index}), the first whose output matches no intermediate value of the original"
            + (f" (the last matching child is `{last}`)" if last else ""))
    inputs = trace.get("child_inputs") if trace is not None else None
    if trace is not None and inputs and not all(ref.matches(fp) for fp in inputs):
        before = [e for e in trace["events"] if not e["in_child"] and e["calls_done"] <= index]
        hit = pin(before, ref)
        if hit is not None:
            found.update(file=hit["file"], line=hit["line"])
            found["message"] = (f"{head}, but its inputs already match none: "
                                f"{hit['file']}:{hit['line']} is the first statement whose "
                                "value matches none; check the plumbing there")
        else:
            found["message"] = (f"{head}, but its inputs already match none: check the "
                                f"plumbing before {site_text}")
        found["cause"] = "inputs"
        return found
    hit = None
    if trace is not None:
        inside = [e for e in trace["events"] if e["in_child"] and e["calls_done"] == index]
        hit = pin(inside, ref)
    if hit is not None:
        found.update(file=hit["file"], line=hit["line"], cause="child")
        found["message"] = (f"{head}; its first statement whose value matches none is "
                            f"{hit['file']}:{hit['line']}")
    else:
        found["message"] = f"{head}: check its inputs, its weights and the plumbing before it"
    return found


def _plumbing_after(found: dict[str, Any], trace: dict[str, Any] | None,
                    ref: Reference) -> dict[str, Any]:
    """Every child output matches: the first refactored.py statement whose value matches none."""
    found.update({"child_file": None, "call_site": None, "file": REFACTORED_FILE, "line": None,
                  "cause": "plumbing"})
    hit = pin([e for e in trace["events"] if not e["in_child"]], ref) if trace else None
    if hit is not None:
        found["line"] = hit["line"]
        found["message"] += (f"; {hit['file']}:{hit['line']} is the first statement whose value "
                             "matches none")
    return found
