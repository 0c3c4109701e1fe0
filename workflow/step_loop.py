"""equivalence: prove every emitted step and the composition with the verification engine.

Needs: an emitted tree on disk (the staging directory of `lower`).
Guarantees: each step's verification_result.json is written by the same engine as
`hdecomp verify-step` (anti-cheat, weight transfer, seeded trials at the specification's
tolerances); the step summary (`workflow.summary`) aggregates them; the composition is
checked by hdecomp's own code (`workflow.composition`), never by the tree's editable test. Returns True only when every step and the composition pass.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from hdecomp_ir.spec import STEP_RESULT_JSON, STEPS_DIR, WEIGHT_MAP_JSON
from workflow.progress import Progress
from workflow.summary import failure_text, step_summary_entry, write_step_summary

COMPOSITION_TIMEOUT_S = 1800.0


def run_composition(out_dir: Path, timeout: float = COMPOSITION_TIMEOUT_S) -> tuple[bool, str]:
    """The composition check, judged by hdecomp itself; (passed, `max_difference=...` or why not).

    verification/composition_test.py is an editable file of the tree whose PASS proves nothing,
    so it is not what runs: `workflow.composition` rebuilds the composed model from the tree and
    the level-0 files in child processes and compares it with the original in this process.
    """
    from workflow.composition import check_composition

    return check_composition(out_dir, timeout=timeout)


def run_equivalence(out_dir: Path, emitted: Any, *, decomp_dir: Path | None = None,
                    device: str = "auto", echo: Callable[[str], None] = print,
                    progress: Progress | None = None) -> bool:
    """Verify every step of an emitted tree, then the composition; write the summary.

    `out_dir` is where the tree is now (`lower`'s staging directory); `decomp_dir` the path it
    will have, which the summary records (default: `out_dir`). `progress` reports on stderr
    (default: text lines).
    """
    from verifier import StepOptions, StepVerifier

    progress = progress if progress is not None else Progress()
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    timing: dict[str, float] = {}
    t0 = time.monotonic()
    progress.begin(len(emitted.steps))
    with StepVerifier() as verifier:
        for index, plan in enumerate(emitted.steps):
            progress.step(index, plan.name)
            step_dir = out_dir / STEPS_DIR / plan.name
            result = verifier.verify(StepOptions(
                original=step_dir / "original.py", refactored=step_dir / "refactored.py",
                output=step_dir / STEP_RESULT_JSON,
                weight_map=(step_dir / WEIGHT_MAP_JSON) if (step_dir / WEIGHT_MAP_JSON).exists() else None,
                device=device, progress=progress.heartbeat))
            data = result.to_json()
            rows.append(step_summary_entry(plan.name, data))
            if not result.passed:
                failures.append(f"FAIL step {plan.name}: {failure_text(data)}")
                echo(f"FAIL {plan.name}: {result.summary_line()}")
    timing["steps_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    progress.phase("verifying the composition")
    comp_ok, comp_detail = run_composition(out_dir)
    timing["composition_s"] = time.monotonic() - t0
    if not comp_ok:
        failures.append(f"FAIL composition: {comp_detail}")
    ok = not failures
    write_step_summary(out_dir, decomp_dir=decomp_dir if decomp_dir is not None else out_dir,
                       ok=ok, rows=rows, composition=(comp_ok, comp_detail), failures=failures,
                       timing=timing)
    passed = sum(1 for r in rows if r["verification_status"] == "PASS")
    echo(f"steps: {passed}/{len(rows)} PASS; composition: {'PASS' if comp_ok else 'FAIL'} "
         f"({comp_detail})")
    return ok
