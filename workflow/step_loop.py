"""equivalence: prove every emitted step and the composition with the verification engine.

Needs: an emitted tree on disk (the staging directory of `lower`).
Guarantees: each step's verification_result.json is written by the same engine as
`hdecomp verify-step` (anti-cheat, weight transfer, seeded trials at the specification's
tolerances); verification/step_verification_summary.json aggregates them; the composition test
runs as its own process. Returns True only when every step and the composition pass.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from hdecomp_ir.spec import (STEP_RESULT_JSON, STEP_SUMMARY_JSON, STEPS_DIR, VERIFICATION_DIR,
                             WEIGHT_MAP_JSON, COMPOSITION_TEST)

COMPOSITION_TIMEOUT_S = 1800.0


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def run_composition(out_dir: Path, timeout: float = COMPOSITION_TIMEOUT_S) -> tuple[bool, str]:
    """Run verification/composition_test.py in its own process; (passed, last output line)."""
    script = out_dir / VERIFICATION_DIR / COMPOSITION_TEST
    try:
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=timeout, cwd=out_dir)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f}s"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    passed = proc.returncode == 0 and "PASS" in proc.stdout.split()
    detail = next((ln for ln in proc.stdout.splitlines() if ln.startswith("max_difference")), "")
    return passed, detail or (lines[-1] if lines else f"exit {proc.returncode}")


def step_summary_entry(step_name: str, result: dict[str, Any]) -> dict[str, Any]:
    """One row of step_verification_summary.json from a verification_result.json."""
    numeric = result.get("numerical_comparison", {}) or {}
    return {
        "step_name": step_name,
        "verification_status": result.get("status", "FAIL"),
        "coverage_pct": result.get("coverage_pct", 100.0 if result.get("status") == "PASS" else None),
        "max_diff": numeric.get("max_diff_across_trials"),
        "anticheat_status": (result.get("anticheat") or {}).get("status"),
    }


def run_equivalence(out_dir: Path, emitted: Any, *, device: str = "auto",
                    echo: Callable[[str], None] = print) -> bool:
    """Verify every step of an emitted tree, then the composition; write the summaries."""
    import click

    from verifier import StepOptions, StepVerifier

    rows: list[dict[str, Any]] = []
    all_ok = True
    with StepVerifier() as verifier, click.progressbar(
            emitted.steps, label="verifying steps", file=sys.stderr,
            item_show_func=lambda p: p.name if p else "") as bar:
        for plan in bar:
            step_dir = out_dir / STEPS_DIR / plan.name
            result = verifier.verify(StepOptions(
                original=step_dir / "original.py", refactored=step_dir / "refactored.py",
                output=step_dir / STEP_RESULT_JSON,
                weight_map=(step_dir / WEIGHT_MAP_JSON) if (step_dir / WEIGHT_MAP_JSON).exists() else None,
                device=device))
            rows.append(step_summary_entry(plan.name, result.to_json()))
            if not result.passed:
                all_ok = False
                echo(f"FAIL {plan.name}: {result.summary_line()}")
    passed = sum(1 for r in rows if r["verification_status"] == "PASS")
    comp_ok, comp_detail = run_composition(out_dir)
    summary = {
        "timestamp": _now(),
        "decomp_dir": str(out_dir.name),
        "status": "PASS" if all_ok and comp_ok else "FAIL",
        "total_steps": len(rows),
        "passed": passed,
        "failed": len(rows) - passed,
        "skipped": 0,
        "composition_test": "PASS" if comp_ok else "FAIL",
        "composition_detail": comp_detail,
        "steps": rows,
    }
    path = out_dir / VERIFICATION_DIR / STEP_SUMMARY_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    echo(f"steps: {passed}/{len(rows)} PASS; composition: {'PASS' if comp_ok else 'FAIL'} "
         f"({comp_detail})")
    return all_ok and comp_ok
