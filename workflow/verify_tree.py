"""`hdecomp verify DIR`: every check of a decomposition directory, with one verdict.

1. steps: every steps/step_* is judged by the verification engine (one StepVerifier, one fork
   server). A verification_result.json is reused only when it is signed by this user's key
   (`verifier.signing`: only hdecomp wrote it, and nobody edited it since), fresh (every file it
   judged still has the sha256 it recorded, no file added, same verifier version) and says
   PASS; an unsigned or forged one is re-run ("re-verifying ..."), a stale one is reported
   STALE and re-run; steps with identical files are verified once.
2. the self-test of every component file, through hdecomp's own harness (`workflow.selftest`);
   3. the composition, rebuilt from the tree by hdecomp (`workflow.composition`; the tree's
   composition_test.py is never what decides); 4. op coverage of the whole tree and of each
   step; 5. the layout of the tree against the specification.

Writes only the result files the specification names: steps/*/verification_result.json,
steps/*/coverage_report.json, verification/step_verification_summary.json, test_results.json and
coverage_summary.json, the verdict into decomposition_tree.json's
metadata.verification_status, and one entry in decomposition_log.json. Never touches component files, original.py, refactored.py or
children/.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hdecomp_ir.errors import HdecompError
from hdecomp_ir.spec import (COVERAGE_REPORT_JSON, COVERAGE_SUMMARY_JSON, TREE_JSON,
                             ORIGINAL_FILE, REFACTORED_FILE, STEP_RESULT_JSON, VERIFICATION_DIR,
                             VERIFIER_VERSION, WEIGHT_MAP_JSON)
from verifier.signing import check as check_signature, sign
from verifier.step_files import step_files
from workflow.layout import Problem, check_layout, is_decomposition, step_dirs
from workflow.selftest import run_selftests, test_results_json, write_json, write_test_results, now
from workflow.summary import failure_text, step_summary_entry, write_step_summary

Echo = Callable[[str], None]


@dataclass
class VerifyOptions:
    out_dir: Path
    device: str = "auto"
    jobs: int = 2
    timeout: float = 600.0
    rerun_all: bool = False
    coverage: bool = True
    self_tests: bool = True
    progress: str = "text"  # workflow.progress mode: text, quiet (--quiet), json


@dataclass
class VerifyReport:
    ok: bool = True
    failures: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    # one verdict line per whole-tree check (composition, self-tests, coverage), pass or fail
    checks: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.ok = False
        self.failures.append(line)


# Above this many bytes of inputs and outputs of one component, verify runs one thing at a time.
PARALLEL_MAX_BYTES = 256 << 20

_DTYPE_BYTES = {"float64": 8, "int64": 8, "complex64": 8, "float32": 4, "int32": 4,
                "float16": 2, "bfloat16": 2, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}


def largest_activation_bytes(out_dir: Path) -> int:
    """The largest input+output bytes of one tree node (0 when the tree does not say)."""
    from workflow.layout import load_tree

    tree = load_tree(out_dir)
    best = 0
    for node in (tree or {}).get("nodes", {}).values():
        if not isinstance(node, dict):
            continue
        total = 0
        for shapes, dtypes in (("input_shapes", "input_dtypes"), ("output_shapes", "output_dtypes")):
            for name, shape in (node.get(shapes) or {}).items():
                if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
                    continue
                numel = 1
                for d in shape:
                    numel *= d
                total += numel * _DTYPE_BYTES.get(str((node.get(dtypes) or {}).get(name)), 4)
        best = max(best, total)
    return best


def freshness(step_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """(the existing result, '' when it can be reused, else why not).

    Why not: missing; UNTRUSTED (not signed by this user's key: forged, hand-edited, copied
    from another machine); STALE (a judged file changed, or another verifier version).
    """
    path = step_dir / STEP_RESULT_JSON
    if not path.is_file():
        return None, f"no {STEP_RESULT_JSON}"
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None, f"{STEP_RESULT_JSON} is not valid JSON"
    # The signature first: the hashes and the status inside an unsigned file are claims anyone
    # could have written, so nothing in it is read before it is known to be ours.
    why_not = check_signature(result)
    if why_not:
        return None, f"UNTRUSTED: result not signed by this machine's key ({why_not})"
    recorded = result.get("files")
    if not isinstance(recorded, dict) or not recorded:
        return result, "STALE: the result records no file hashes"
    # Results recorded before the engine hashed buffer sidecars list none: compare without.
    now_files = step_files(step_dir, sidecars=any(k.endswith(".pt") for k in recorded))
    changed = sorted(k for k in set(recorded) | set(now_files) if recorded.get(k) != now_files.get(k))
    if changed:
        what = ", ".join(f"{k} ({'added' if k not in recorded else 'removed' if k not in now_files else 'changed'})"
                         for k in changed[:5])
        return result, f"STALE: {what}{' …' if len(changed) > 5 else ''} since it was verified"
    if result.get("verifier_version") != VERIFIER_VERSION:
        return result, f"STALE: verified by {result.get('verifier_version')!r}, not {VERIFIER_VERSION!r}"
    return result, ""


def verify_steps(opts: VerifyOptions, report: VerifyReport, echo: Echo) -> list[dict[str, Any]]:
    """Judge every step; returns rows of step_verification_summary.json (without coverage)."""
    from verifier import StepOptions, StepVerifier
    from workflow.progress import Progress

    progress = Progress(opts.progress)
    out_dir = opts.out_dir
    rows: list[dict[str, Any]] = []
    done_by_files: dict[frozenset, tuple[str, dict[str, Any]]] = {}
    steps = step_dirs(out_dir)
    verifier: StepVerifier | None = None
    try:
        progress.begin(len(steps))
        for index, step_dir in enumerate(steps):
            name = step_dir.name
            progress.step(index, name)
            existing, why = freshness(step_dir)
            if why.startswith("UNTRUSTED"):
                echo(f"re-verifying {name}: result not signed by this machine's key "
                     f"({why.split('(', 1)[1]}")
            elif why.startswith("STALE"):
                report.stale.append(name)
                echo(f"STALE {name}: {why[7:]}; re-running")
            files_key = frozenset(step_files(step_dir).items())
            result: dict[str, Any] | None = None
            how = "verified"
            if not why and existing is not None and existing.get("status") == "PASS" and not opts.rerun_all:
                result, how = existing, "reused"
                report.reused.append(name)
            elif files_key in done_by_files and "files" in done_by_files[files_key][1]:
                src, prev = done_by_files[files_key]
                result = {**prev, "original_file": str(step_dir / ORIGINAL_FILE),
                          "refactored_file": str(step_dir / REFACTORED_FILE),
                          "reused_from": src}
                how = f"same files as {src}"
                result = sign(result)
                write_json(step_dir / STEP_RESULT_JSON, result)
                report.rerun.append(name)
            else:
                if verifier is None:
                    verifier = StepVerifier()
                weight_map = step_dir / WEIGHT_MAP_JSON
                try:
                    res = verifier.verify(StepOptions(
                        original=step_dir / ORIGINAL_FILE, refactored=step_dir / REFACTORED_FILE,
                        output=step_dir / STEP_RESULT_JSON,
                        weight_map=weight_map if weight_map.is_file() else None,
                        device=opts.device, timeout=opts.timeout, progress=progress.heartbeat))
                    result = res.to_json()
                except HdecompError as err:
                    # The step cannot be judged (bad input): its old verdict must not stand.
                    result = {"timestamp": now(), "original_file": str(step_dir / ORIGINAL_FILE),
                              "refactored_file": str(step_dir / REFACTORED_FILE),
                              "status": "ERROR", "reasons": ["bad_input"], "failures": [],
                              "error": err.one_line(), "anticheat": {}, "weight_transfer": {},
                              "numerical_comparison": {}, "files": step_files(step_dir),
                              "verifier_version": VERIFIER_VERSION}
                    result = sign(result)
                    write_json(step_dir / STEP_RESULT_JSON, result)
                report.rerun.append(name)
            done_by_files.setdefault(files_key, (name, result))
            rows.append(step_summary_entry(name, result, checked=how,
                                           stale=why[7:] if why.startswith("STALE") else None))
            if result.get("status") != "PASS":
                report.fail(f"FAIL step {name}: {failure_text(result)}")
    finally:
        if verifier is not None:
            verifier.close()
    return rows


def _record_status(out_dir: Path, status: str) -> None:
    """What verify found, in decomposition_tree.json's metadata.verification_status (PASSED or
    FAILED, the values `lower` writes); a tree that cannot be read is left as it is (the
    layout check has reported it)."""
    path = out_dir / TREE_JSON
    try:
        tree = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return
    if not isinstance(tree, dict) or not isinstance(tree.get("metadata"), dict):
        return
    if tree["metadata"].get("verification_status") != status:
        tree["metadata"]["verification_status"] = status
        path.write_text(json.dumps(tree, indent=2) + "\n")


def _log_verdict(out_dir: Path, report: "VerifyReport") -> None:
    """One entry in decomposition_log.json: the verdict, the steps re-run and what failed."""
    from workflow.edit.log import append_entry

    try:
        append_entry(out_dir, "verify", {"dir": str(out_dir)}, [],
                     verdict="PASSED" if report.ok else "FAILED", stale=list(report.stale),
                     failures=list(report.failures))
    except OSError:
        pass  # a read-only tree still gets its verdict printed


def verify_dir(opts: VerifyOptions, echo: Echo = print) -> VerifyReport:
    """Run every check; write the summaries; the report says what failed."""
    from workflow.step_loop import run_composition

    out_dir = Path(opts.out_dir)
    is_decomposition(out_dir)
    opts.out_dir = out_dir
    report = VerifyReport()

    t0 = time.monotonic()
    problems: list[Problem] = check_layout(out_dir)
    for p in problems:
        report.fail(f"FAIL layout {p.one_line()}")
    report.timing["layout_s"] = time.monotonic() - t0

    # The composition test and the self-tests are processes of their own: they run while the
    # steps are verified (their torch imports and forwards overlap the step workers').
    from concurrent.futures import ThreadPoolExecutor

    def timed(fn: Callable[[], Any]) -> Callable[[], tuple[Any, float]]:
        def run() -> tuple[Any, float]:
            start = time.monotonic()
            return fn(), time.monotonic() - start
        return run

    # Exact-size models can need many GiB per forward: overlap the work only for small ones.
    big = largest_activation_bytes(out_dir) > PARALLEL_MAX_BYTES
    if big:
        opts.jobs = 1
    with ThreadPoolExecutor(max_workers=1 if big else 2) as pool:
        # Judged by hdecomp's own composition check, which never runs the editable
        # composition_test.py (a missing one is a layout failure above).
        comp_future = pool.submit(timed(lambda: run_composition(out_dir, timeout=max(opts.timeout, 1800.0))))
        tests_future = pool.submit(timed(lambda: run_selftests(out_dir, jobs=opts.jobs, timeout=opts.timeout)
                                         if opts.self_tests else None))
        t0 = time.monotonic()
        rows = verify_steps(opts, report, echo)
        report.timing["steps_s"] = time.monotonic() - t0
        composition, report.timing["composition_s"] = comp_future.result()
        results, report.timing["self_tests_s"] = tests_future.result()

    if not composition[0]:
        report.fail(f"FAIL composition: {composition[1]}")
    report.checks.append(f"composition: {'PASS' if composition[0] else 'FAIL'}")
    if results is None:
        report.checks.append("self-tests: not run")
    else:
        report.checks.append(f"self-tests: {sum(1 for r in results if r.status == 'PASS')}/"
                             f"{len(results)} PASS")
    if results is not None:
        for r in results:
            if r.status != "PASS":
                report.fail(f"FAIL self-test {r.file}: {r.detail or f'exit {r.returncode}'}")
        write_test_results(out_dir, test_results_json(results, composition))

    t0 = time.monotonic()
    coverage_status = "NOT_RUN"
    if opts.coverage:
        from workflow.coverage import step_coverage, tree_coverage

        for row, step_dir in zip(rows, step_dirs(out_dir)):
            try:
                rep = step_coverage(out_dir, step_dir)
            except Exception as err:  # noqa: BLE001 - an untraceable original is a finding
                rep = None
                text = err.one_line() if isinstance(err, HdecompError) else f"{type(err).__name__}: {err}"
                report.fail(f"FAIL coverage {step_dir.name}: {text.splitlines()[0] if text else ''}")
            if rep is not None:
                write_json(step_dir / COVERAGE_REPORT_JSON, rep)
                row["coverage_pct"] = rep["coverage"]["coverage_pct"]
                row["coverage_status"] = rep["status"]
                if rep["status"] != "FULL_COVERAGE":
                    report.fail(f"FAIL coverage {step_dir.name}: {rep['status']}, missing "
                                f"{rep['coverage']['missing_op_types']} {rep['errors'] or ''}".rstrip())
        try:
            cov = tree_coverage(out_dir)
            coverage_status = cov["status"]
            write_json(out_dir / VERIFICATION_DIR / COVERAGE_SUMMARY_JSON, cov)
            if cov["status"] != "FULL_COVERAGE":
                report.fail(f"FAIL coverage: {cov['status']} {cov['coverage']['coverage_pct']}% of "
                            f"compute ops; missing {cov['coverage']['missing_op_types']} "
                            f"{cov['errors'] or ''}".rstrip())
        except Exception as err:  # noqa: BLE001 - an untraceable root is a finding
            coverage_status = "ERROR"
            text = err.one_line() if isinstance(err, HdecompError) else f"{type(err).__name__}: {err}"
            report.fail(f"FAIL coverage: {text.splitlines()[0] if text else ''}")
    report.timing["coverage_s"] = time.monotonic() - t0
    report.checks.append(f"coverage: {coverage_status}")

    report.steps = rows
    _record_status(out_dir, "PASSED" if report.ok else "FAILED")
    _log_verdict(out_dir, report)
    write_step_summary(out_dir, decomp_dir=out_dir, ok=report.ok, rows=rows,
                       composition=composition, coverage_status=coverage_status,
                       stale_steps=report.stale, reused_results=report.reused,
                       layout_problems=[p.to_json() for p in problems], failures=report.failures,
                       timing=report.timing)
    return report
