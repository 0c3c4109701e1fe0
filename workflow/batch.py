"""`hdecomp batch`: lower and/or verify many models, a few at a time, one table at the end.

Every model runs as its own `hdecomp` process (one model's crash, hang or memory cannot take the
others down) under a time limit; the results come from the JSON files those processes write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import (COVERAGE_SUMMARY_JSON, STEP_SUMMARY_JSON, STEPS_DIR, TEST_RESULTS_JSON,
                             TREE_JSON, VERIFICATION_DIR)

BATCH_REPORT_JSON = "batch_report.json"


@dataclass
class ModelRun:
    name: str
    decomp_dir: str
    model_file: str | None = None
    lower: str = "SKIPPED"     # PASS, FAIL, ERROR (bad input), TIMEOUT, SKIPPED
    verify: str = "NOT_RUN"    # PASS, FAIL, ERROR, TIMEOUT, NOT_RUN
    steps_passed: int | None = None
    steps_total: int | None = None
    coverage_pct: float | None = None
    self_tests: str | None = None
    composition: str | None = None
    seconds: float = 0.0
    detail: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lower in ("PASS", "SKIPPED") and self.verify == "PASS"


def find_decompositions(root: Path) -> list[Path]:
    """ROOT itself when it is a decomposition, else every folder under it holding a tree."""
    root = Path(root)
    if (root / TREE_JSON).is_file():
        return [root]
    return sorted(p.parent for p in root.rglob(TREE_JSON) if STEPS_DIR not in p.parent.parts)


def _run(cmd: list[str], limit: float) -> tuple[int | None, str, float]:
    """(exit code or None on timeout, last lines of output, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        code = None
    return code, out or "", time.monotonic() - t0


def _status(code: int | None) -> str:
    return {None: "TIMEOUT", 0: "PASS", 1: "FAIL", 2: "ERROR"}.get(code, "ERROR")


def _last_error(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    picks = [ln for ln in lines if ln.startswith(("error:", "internal error:", "FAIL"))]
    return (picks[0] if picks else (lines[-1] if lines else ""))[:300]


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def run_one(run: ModelRun, *, limit: float, device: str, verify_jobs: int) -> ModelRun:
    cli = [sys.executable, "-m", "hdecomp.cli"]
    t0 = time.monotonic()
    if run.model_file is not None:
        code, out, _ = _run(cli + ["lower", run.model_file, "-o", run.decomp_dir, "--force",
                                   "--device", device], limit)
        run.lower = _status(code)
        if run.lower in ("ERROR", "TIMEOUT") or not (Path(run.decomp_dir) / TREE_JSON).is_file():
            run.detail = "lower timed out" if code is None else _last_error(out)
            run.seconds = round(time.monotonic() - t0, 2)
            return run
        if run.lower == "FAIL":
            run.detail = _last_error(out)
    left = max(1.0, limit - (time.monotonic() - t0))
    code, out, _ = _run(cli + ["verify", run.decomp_dir, "--device", device, "-j", str(verify_jobs)], left)
    run.verify = _status(code)
    vdir = Path(run.decomp_dir) / VERIFICATION_DIR
    summary = _read(vdir / STEP_SUMMARY_JSON)
    if summary:
        run.steps_passed, run.steps_total = summary.get("passed"), summary.get("total_steps")
        run.composition = summary.get("composition_test")
        run.failures = list(summary.get("failures") or [])
    cov = _read(vdir / COVERAGE_SUMMARY_JSON)
    run.coverage_pct = (cov.get("coverage") or {}).get("coverage_pct")
    tests = _read(vdir / TEST_RESULTS_JSON)
    if tests:
        run.self_tests = f"{tests.get('passed')}/{tests.get('total_components')}"
    if run.verify != "PASS" and not run.detail:
        run.detail = "verify timed out" if code is None else (run.failures[0] if run.failures else _last_error(out))
    run.seconds = round(time.monotonic() - t0, 2)
    return run


def model_files(src: Path) -> list[tuple[str, Path]]:
    """(name relative to SRC without .py, path) for SRC or every model file in the tree under it.

    Folders are walked recursively so `--lower data/` takes data/level1/*.py and the rest; files
    and folders starting with `_` or `.` (helpers, caches) are not models.
    """
    if src.is_file():
        return [(src.stem, src)]
    found = []
    for f in sorted(src.rglob("*.py")):
        rel = f.relative_to(src)
        if any(part.startswith(("_", ".")) for part in rel.parts):
            continue
        found.append((rel.with_suffix("").as_posix(), f))
    return found


def plan(roots: list[Path], lower_inputs: list[Path], output_root: Path) -> list[ModelRun]:
    runs: list[ModelRun] = []
    for src in lower_inputs:
        if not src.exists():
            raise UserInputError("not found", where=str(src), fix="give model files or folders of them")
        for name, f in model_files(src):
            runs.append(ModelRun(name=name, decomp_dir=str(output_root / name), model_file=str(f)))
    names = [r.name for r in runs]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise UserInputError(f"two models would share the output folder {output_root / clash[0]}",
                             fix="give each --lower source a distinct file name or lower them in separate batches")
    for root in roots:
        if not root.is_dir():
            raise UserInputError("not a directory", where=str(root))
        for d in find_decompositions(root):
            runs.append(ModelRun(name=d.name, decomp_dir=str(d)))
    if not runs:
        raise UserInputError("nothing to do: no decompositions under the roots and no models to lower",
                             fix="hdecomp batch output/level1 or hdecomp batch --lower data/level1")
    return runs


def table(runs: list[ModelRun]) -> str:
    head = ("model", "lower", "verify", "steps", "coverage", "tests", "compose", "seconds")
    rows = [head]
    for r in runs:
        rows.append((r.name, r.lower, r.verify,
                     f"{r.steps_passed}/{r.steps_total}" if r.steps_total is not None else "-",
                     f"{r.coverage_pct:.1f}%" if r.coverage_pct is not None else "-",
                     r.self_tests or "-", r.composition or "-", f"{r.seconds:.1f}"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_batch(roots: list[Path], lower_inputs: list[Path], *, output_root: Path, jobs: int = 1,
              limit: float = 1800.0, device: str = "auto", report_path: Path | None = None,
              echo: Callable[[str], None] = print) -> bool:
    import click

    from workflow.selftest import now, write_json

    runs = plan(roots, lower_inputs, output_root)
    t0 = time.monotonic()
    done: list[ModelRun] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            click.progressbar(length=len(runs), label=f"{len(runs)} models", file=sys.stderr,
                              item_show_func=lambda r: r.name if r else "") as bar:
        futures = [pool.submit(run_one, r, limit=limit, device=device,
                               verify_jobs=1 if jobs > 1 else 2) for r in runs]
        for fut in as_completed(futures):
            r = fut.result()
            done.append(r)
            bar.update(1, r)
    order = {id(r): i for i, r in enumerate(runs)}
    done.sort(key=lambda r: order[id(r)])
    passed = sum(1 for r in done if r.ok)
    report = {
        "timestamp": now(),
        "status": "PASS" if passed == len(done) else "FAIL",
        "total": len(done),
        "passed": passed,
        "failed": len(done) - passed,
        "time_limit_s": limit,
        "jobs": jobs,
        "seconds": round(time.monotonic() - t0, 2),
        "models": [{**asdict(r), "ok": r.ok} for r in done],
    }
    path = report_path or (output_root / BATCH_REPORT_JSON if lower_inputs else
                           (roots[0] / BATCH_REPORT_JSON if len(roots) == 1 else Path(BATCH_REPORT_JSON)))
    write_json(path, report)
    echo(table(done))
    for r in done:
        if not r.ok:
            echo(f"FAIL {r.name}: {r.detail}")
    echo(f"{passed}/{len(done)} models pass in {report['seconds']:.0f} s; wrote {path}")
    return passed == len(done)
