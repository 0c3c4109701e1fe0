"""verification/step_verification_summary.json: its one writer, used by `lower` and `verify`.

The key set is the specification's (seed 003, prompts/OUTPUT_SCHEMA.md): `timestamp`,
`decomp_dir`, `status`, `total_steps`, `passed`, `failed`, `skipped` and one row per step with
`step_name`, `verification_status`, `coverage_pct`, `max_diff`, `anticheat_status`; then what
`hdecomp verify` knows besides (the composition test, the coverage verdict, stale and reused
results, layout problems, one line per failure, timings). Both commands write every key, with
the neutral value where they did not look (`lower` runs no coverage: `NOT_RUN`), so a reader
never has to know which command wrote the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from hdecomp_ir.spec import STEP_SUMMARY_JSON, VERIFICATION_DIR, VERIFIER_VERSION
from workflow.selftest import now, write_json


def step_summary_entry(step_name: str, result: Mapping[str, Any], *, checked: str = "verified",
                       stale: str | None = None) -> dict[str, Any]:
    """One row of step_verification_summary.json from a step's verification_result.json.

    `checked` says how the verdict was reached (`verified`, `reused`, `same files as <step>`),
    `stale` why an older result no longer stood. `coverage_pct` and `coverage_status` are filled
    in by `verify` once it has measured the step's coverage; before that `coverage_pct` is what
    `lower` has always written (100.0 for a PASS, None otherwise), not a measurement.
    """
    numeric = result.get("numerical_comparison", {}) or {}
    return {
        "step_name": step_name,
        "verification_status": result.get("status", "FAIL"),
        "coverage_pct": result.get("coverage_pct", 100.0 if result.get("status") == "PASS" else None),
        "coverage_status": None,
        "max_diff": numeric.get("max_diff_across_trials"),
        "anticheat_status": (result.get("anticheat") or {}).get("status"),
        "checked": checked,
        "stale": stale,
    }


def failure_text(result: Mapping[str, Any]) -> str:
    """Why a step's result is not PASS, in one line: its first failures or its error."""
    if result.get("status") == "ERROR":
        return str(result.get("error"))
    fails = result.get("failures") or []
    shown = [" ".join(f"{f.get('rule')}: {f.get('file') or ''}{':' + str(f['line']) if f.get('line') else ''} "
                      f"{f.get('message', '')}".split()) for f in fails[:3]]
    more = f" (+{len(fails) - 3} more)" if len(fails) > 3 else ""
    return "; ".join(shown) + more if shown else str(result.get("reasons") or result.get("status"))


def write_step_summary(out_dir: Path, *, decomp_dir: Path | str, ok: bool,
                       rows: list[dict[str, Any]], composition: tuple[bool, str],
                       coverage_status: str = "NOT_RUN", stale_steps: Iterable[str] = (),
                       reused_results: Iterable[str] = (),
                       layout_problems: Iterable[dict[str, Any]] = (),
                       failures: Iterable[str] = (),
                       timing: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Write verification/step_verification_summary.json under `out_dir`; returns its content.

    `out_dir` is where the tree is now (for `lower`, its staging directory); `decomp_dir` is the
    decomposition's own path as the user names it, which the file records. `ok` is the overall
    verdict of the command that writes it; `rows` come from `step_summary_entry`.
    """
    passed = sum(1 for r in rows if r["verification_status"] == "PASS")
    summary = {
        "timestamp": now(),
        "decomp_dir": str(decomp_dir),
        "status": "PASS" if ok else "FAIL",
        "total_steps": len(rows),
        "passed": passed,
        "failed": len(rows) - passed,
        "skipped": 0,
        "composition_test": "PASS" if composition[0] else "FAIL",
        "composition_detail": composition[1],
        "coverage_status": coverage_status,
        "stale_steps": list(stale_steps),
        "reused_results": list(reused_results),
        "layout_problems": list(layout_problems),
        "failures": list(failures),
        "verifier_version": VERIFIER_VERSION,
        "timing": {k: round(v, 3) for k, v in (timing or {}).items()},
        "steps": rows,
    }
    write_json(Path(out_dir) / VERIFICATION_DIR / STEP_SUMMARY_JSON, summary)
    return summary
