"""Every component file's self-test through hdecomp's own harness (`hdecomp test`, `hdecomp verify`).

A component file's `run_tests` and `__main__` block are the file's own code: a file can print
PASS whatever its Model does. So the files are never run as scripts. A few worker interpreters
(`workflow.selftest_worker`, torch imported once each) import each file, build
`Model(*get_init_inputs())`, run it on `get_inputs()` and save the outputs; this process reads
them back (`weights_only=True`) and checks them: every leaf a tensor, finite unless the file
sets `ALLOW_INF = True`, shapes as decomposition_tree.json records for that file and as the
file's literal `get_expected_output_shape()` says. A file that hangs past the time limit or kills
its interpreter is a FAIL, and the rest go on in a fresh one.
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hdecomp_ir.spec import TEST_RESULTS_JSON, VERIFICATION_DIR, Level
from verifier.runtime import isolation
from workflow.selftest_worker import VIEW_ENV

DEFAULT_FILE_TIMEOUT_S = 600.0


@dataclass
class FileResult:
    file: str  # relative to the decomposition directory
    status: str  # PASS or FAIL
    returncode: int | None
    seconds: float
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "status": self.status,
                               "returncode": self.returncode, "seconds": self.seconds}
        if self.detail:
            out["detail"] = self.detail
        return out


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def component_files(out_dir: Path) -> list[str]:
    """Component files (relative paths), model level first, in name order."""
    files = []
    for level in sorted(Level, reverse=True):
        folder = Path(out_dir) / level.folder
        if folder.is_dir():
            files.extend(f"{level.folder}/{p.name}" for p in sorted(folder.glob("*.py")))
    return files


def _detail(rec: dict[str, Any]) -> str:
    text = (rec.get("stdout", "") + "\n" + rec.get("stderr", "")).strip().splitlines()
    fails = [ln for ln in text if ln.startswith("FAIL") or "Error" in ln]
    return (fails[-1] if fails else (text[-1] if text else ""))[:300]


def _literal_assignments(path: Path) -> tuple[bool, list[tuple[int, ...]] | None]:
    """(ALLOW_INF, the literal get_expected_output_shape() or None), read from the source
    without running it; anything but a plain literal counts as absent."""
    allow_inf, shapes = False, None
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return allow_inf, shapes
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == "ALLOW_INF"):
            allow_inf = isinstance(stmt.value, ast.Constant) and stmt.value.value is True
        if (isinstance(stmt, ast.FunctionDef) and stmt.name == "get_expected_output_shape"
                and len(stmt.body) == 1 and isinstance(stmt.body[0], ast.Return)):
            try:
                value = ast.literal_eval(stmt.body[0].value) if stmt.body[0].value else None
                shapes = [tuple(int(d) for d in s) for s in value]
            except (ValueError, TypeError, SyntaxError):
                shapes = None
    return allow_inf, shapes


def tree_output_shapes(out_dir: Path) -> dict[str, list[tuple[int, ...]]]:
    """Component file (relative path) -> its output shapes as decomposition_tree.json records."""
    from workflow.layout import load_tree

    tree = load_tree(out_dir)
    out: dict[str, list[tuple[int, ...]]] = {}
    for node in (tree or {}).get("nodes", {}).values():
        if not isinstance(node, dict) or not isinstance(node.get("path"), str):
            continue
        shapes = node.get("output_shapes")
        if isinstance(shapes, dict) and all(isinstance(s, list) and all(isinstance(d, int) for d in s)
                                           for s in shapes.values()):
            out.setdefault(node["path"], [tuple(s) for s in shapes.values()])
    return out


def judge_outputs(saved: Path, source: Path, expected: list[tuple[int, ...]] | None) -> str:
    """'' when the harness's saved outputs of `source` pass, else what is wrong (one line)."""
    import torch

    try:
        leaves = torch.load(saved, weights_only=True)
    except Exception as err:  # noqa: BLE001 - a file the untrusted worker wrote
        return f"the harness found no readable outputs ({type(err).__name__})"
    if not isinstance(leaves, list) or not leaves:
        return "the Model returned no tensors"
    allow_inf, literal = _literal_assignments(source)
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, torch.Tensor):
            return f"output {i} is not a tensor"
        if leaf.is_floating_point() or leaf.is_complex():
            if torch.isnan(leaf).any():
                return f"output {i} contains NaN"
            if not allow_inf and torch.isinf(leaf).any():
                return f"output {i} contains Inf"
    actual = [tuple(t.shape) for t in leaves]
    # Both must hold: the file's own claim, in return order, and the shapes the tree records
    # for this file (the tree keys them by output name, in graph order, not return order).
    if expected is not None and sorted(actual) != sorted(tuple(s) for s in expected):
        return f"output shapes {actual} != the tree's {[tuple(s) for s in expected]}"
    if literal is not None and actual != [tuple(s) for s in literal]:
        return f"output shapes {actual} != get_expected_output_shape() {literal}"
    return ""


def _run_chunk(out_dir: Path, files: list[str], timeout: float, work: Path, tag: str,
               done: Callable[[FileResult], None],
               expected: dict[str, list[tuple[int, ...]]] | None = None) -> None:
    """Run files in one worker interpreter, restarting it after a hang or a crash."""
    remaining = list(files)
    attempt = 0
    while remaining:
        attempt += 1
        results = work / f"{tag}-{attempt}.jsonl"
        results.touch()
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        # The component files are agent-written: the worker sees the decomposition read-only and
        # its results folder, not the result key or the checkout (namespaces permitting).
        env[VIEW_ENV] = json.dumps({"isolation": isolation.mode(), "read_only": [str(out_dir)],
                                    "writable": [str(work)],
                                    "root": str(work / f"view-{tag}-{attempt}")})
        proc = subprocess.Popen(
            [sys.executable, "-m", "workflow.selftest_worker", str(results),
             *[str(Path(out_dir) / f) for f in remaining]],
            cwd=str(out_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            start_new_session=True)
        seen = 0
        finished = 0  # files this interpreter has finished: the index of its outputs file
        current: str | None = None
        started = time.monotonic()
        while True:
            lines = results.read_text().splitlines()
            complete = [ln for ln in lines if ln.endswith("}")]
            for line in complete[seen:]:
                rec = json.loads(line)
                seen += 1
                if "start" in rec:
                    current, started = rec["start"], time.monotonic()
                    continue
                rel = remaining.pop(0)
                ok = rec["returncode"] == 0
                detail = "" if ok else _detail(rec)
                if ok:
                    # The verdict is ours: the saved outputs, checked here, not what the file said.
                    detail = judge_outputs(Path(f"{results}.{finished}.pt"), Path(out_dir) / rel,
                                           (expected or {}).get(rel))
                    ok = not detail
                finished += 1
                done(FileResult(rel, "PASS" if ok else "FAIL", rec["returncode"], rec["seconds"],
                                detail))
                current = None
            exited = proc.poll() is not None
            if exited and seen >= len([ln for ln in results.read_text().splitlines() if ln.endswith("}")]):
                break
            if not exited and time.monotonic() - started > timeout + (60 if current is None else 0):
                proc.kill()
                proc.wait()
                if remaining:
                    rel = remaining.pop(0)
                    done(FileResult(rel, "FAIL", None, round(time.monotonic() - started, 4),
                                    f"timed out after {timeout:g} s"))
                break
            time.sleep(0.05)
        if proc.poll() is not None and remaining and current is not None:
            # The interpreter died inside a file (os._exit, a crash): that file fails.
            rel = remaining.pop(0)
            err = (proc.stderr.read().decode(errors="replace") if proc.stderr else "").strip()
            done(FileResult(rel, "FAIL", proc.returncode, round(time.monotonic() - started, 4),
                            f"the interpreter died (exit {proc.returncode}) {err[-200:]}".strip()))
        elif proc.poll() is not None and remaining and current is None and seen == 0:
            err = (proc.stderr.read().decode(errors="replace") if proc.stderr else "").strip()
            for rel in remaining:
                done(FileResult(rel, "FAIL", proc.returncode, 0.0,
                                f"the test runner could not start: {err[-200:]}"))
            remaining = []
        if proc.stderr:
            proc.stderr.close()


def run_selftests(out_dir: Path, files: list[str] | None = None, *, jobs: int = 2,
                  timeout: float = DEFAULT_FILE_TIMEOUT_S,
                  progress: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Run the self-test of every component file (or of `files`); results in file order."""
    import threading

    out_dir = Path(out_dir).resolve()
    files = component_files(out_dir) if files is None else list(files)
    jobs = max(1, min(jobs, len(files) or 1))
    chunks = [files[i::jobs] for i in range(jobs)]
    results: dict[str, FileResult] = {}
    lock = threading.Lock()

    def done(res: FileResult) -> None:
        with lock:
            results[res.file] = res
            if progress:
                progress(res)

    expected = tree_output_shapes(out_dir)
    with tempfile.TemporaryDirectory(prefix="hdecomp-test-") as tmp:
        threads = [threading.Thread(target=_run_chunk, args=(out_dir, chunk, timeout, Path(tmp),
                                                             f"w{i}", done, expected))
                   for i, chunk in enumerate(chunks) if chunk]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return [results[f] for f in files if f in results]


def test_results_json(results: list[FileResult], composition: tuple[bool, str] | None) -> dict[str, Any]:
    """test_results.json (OUTPUT_SCHEMA)."""
    passed = sum(1 for r in results if r.status == "PASS")
    data: dict[str, Any] = {
        "timestamp": now(),
        "total_components": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "composition_test": "NOT_RUN",
        "max_difference": None,
        "component_results": [r.to_json() for r in results],
    }
    if composition is not None:
        ok, detail = composition
        data["composition_test"] = "PASSED" if ok else "FAILED"
        data["composition_detail"] = detail
        if detail.startswith("max_difference="):
            try:
                data["max_difference"] = float(detail.split("=", 1)[1])
            except ValueError:
                pass
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")


def write_test_results(out_dir: Path, data: dict[str, Any]) -> Path:
    path = Path(out_dir) / VERIFICATION_DIR / TEST_RESULTS_JSON
    write_json(path, data)
    return path


def run_test_command(out_dir: Path, *, jobs: int = 2, timeout: float = DEFAULT_FILE_TIMEOUT_S,
                     composition: bool = True, echo: Callable[[str], None] = print) -> bool:
    """`hdecomp test DIR`: self-tests (and the composition test); writes test_results.json."""
    import click

    from workflow.layout import is_decomposition
    from hdecomp_ir.errors import UserInputError

    out_dir = Path(out_dir)
    is_decomposition(out_dir)
    files = component_files(out_dir)
    if not files:
        raise UserInputError("no component files (level_*/*.py)", where=str(out_dir))
    with click.progressbar(length=len(files), label="self-tests", file=sys.stderr) as bar:
        results = run_selftests(out_dir, files, jobs=jobs, timeout=timeout,
                                progress=lambda _r: bar.update(1))
    comp = None
    if composition:
        from workflow.step_loop import run_composition

        comp = run_composition(out_dir, timeout=timeout)
    data = test_results_json(results, comp)
    path = write_test_results(out_dir, data)
    for r in results:
        if r.status != "PASS":
            echo(f"FAIL {r.file}: {r.detail or f'exit {r.returncode}'}")
    if comp is not None and not comp[0]:
        echo(f"FAIL composition: {comp[1]}")
    echo(f"self-tests: {data['passed']}/{data['total_components']} PASS; composition: "
         f"{data['composition_test']}; wrote {path}")
    return data["failed"] == 0 and (comp is None or comp[0])
