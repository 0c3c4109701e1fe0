"""The verification engine: one step in, one verdict out.

    static rules (libcst, parent) ─▶ original run (worker A) ─▶ refactored run (worker B) ─▶ verdict

The parent never imports refactored.py or children/. Worker A runs the original once per trial and
its outputs are kept in the parent (their files are deleted before worker B starts, so B cannot
read them). Worker B runs the untrusted code under the guards. The parent recomputes the weight
plan from metadata, judges the guards' reports and compares outputs.

`StepVerifier` keeps one fork server and a cache of original runs for many steps (the lowering
verifies tens of steps); `verify_step(opts)` is the one-shot form.
"""

from __future__ import annotations

import ast
import datetime as _dt
import hashlib
import json
import math
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import VERIFIER_VERSION, WEIGHT_MAP_JSON, tolerance_for, trial_seeds
from hdecomp_ir.verification import numerics
from hdecomp_ir.verification.report import StepResult, Violation
from hdecomp_ir.verification.sandbox import ForkServer, JobOutcome, Launcher, SpawnLauncher
from hdecomp_ir.verification.source_rules import StaticReport, check_sources
from hdecomp_ir.verification.weights import TensorMeta, plan_transfer

# Original runs kept for reuse across steps (outputs in memory, inputs and state on disk), in
# bytes; least recently used runs go first. Steps rarely share an original, so this is small.
ORIGINAL_CACHE_BYTES = 1 << 30
FUSION_MIN_OPS, FUSION_MAX_OPS_RULE = 2, 5


@dataclass
class StepOptions:
    """What to verify and how. Paths may be relative to the current directory."""

    original: Path
    refactored: Path
    output: Path | None = None
    weight_map: Path | None = None
    rtol: float | None = None
    atol: float | None = None
    trials: int = 3
    device: str = "auto"
    timeout: float = 600.0
    children_dir: Path | None = None  # default: children/ next to refactored.py
    start_method: str = "forkserver"  # or "spawn": a fresh interpreter per worker
    check_memory: bool = True
    fingerprints: bool = True  # record intermediates to locate the first diverging child
    threads: int | None = None  # torch threads in the workers (default: torch's choice)
    # Seed of the original's re-randomization. None: the StepVerifier's own random seed, so no
    # step can precompute the outputs it will be compared with. Recorded in the result JSON.
    reinit_seed: int | None = None


@dataclass
class _Step:
    """StepOptions resolved and validated."""

    original: Path
    refactored: Path
    step_dir: Path
    children_dir: Path
    weight_map: dict[str, list[str]] | None
    weight_map_path: Path | None
    device: str
    seeds: list[int]
    files: dict[str, str]


@dataclass
class _OriginalRun:
    result: dict[str, Any]
    data_dir: Path
    outputs: list[Any] = field(default_factory=list)
    after: list[Any | None] = field(default_factory=list)
    fingerprints: list[dict[str, Any]] = field(default_factory=list)
    nbytes: int = 0
    seconds: float = 0.0


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def load_weight_map(path: Path) -> dict[str, list[str]]:
    """Parse weight_map.json: {"original.name": "refactored.name" | ["a", "b"]}."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserInputError(f"not valid JSON: {err.msg} at line {err.lineno}", where=str(path),
                             fix='write {"original.name": "refactored.name", ...}') from None
    except OSError as err:
        raise UserInputError(f"cannot read weight map: {err.strerror}", where=str(path)) from None
    if not isinstance(data, dict):
        raise UserInputError(f"the weight map must be a JSON object, not {type(data).__name__}",
                             where=str(path))
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise UserInputError(f"entry '{key}' must map to a name or a non-empty list of names, "
                                 f"not {json.dumps(value)}", where=str(path))
        out[key] = list(values)
    return out


def _check_original_source(path: Path) -> None:
    """Bad input in the original: unreadable, unparsable, or without Model/get_inputs."""
    try:
        source = path.read_text()
    except OSError as err:
        raise UserInputError(f"cannot read the original: {err.strerror}", where=str(path)) from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as err:
        raise UserInputError(f"syntax error in the original: {err.msg}",
                             where=f"{path}:{err.lineno}") from None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    for needed in ("Model", "get_inputs"):
        if needed not in names:
            raise UserInputError(f"the original defines no `{needed}`", where=str(path),
                                 fix="the original needs class Model, get_inputs() and get_init_inputs()")


def resolve_device(device: str) -> str:
    """`auto` -> cuda when present, else cpu; `cuda` without a GPU is bad input."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError("--device cuda was asked for but no CUDA device is available",
                             fix="use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise UserInputError(f"unknown device '{device}'", fix="use auto, cpu or cuda")
    return device


def resolve(opts: StepOptions) -> _Step:
    """Validate paths and inputs; every problem here is bad input (exit 2)."""
    original, refactored = Path(opts.original), Path(opts.refactored)
    for label, path in (("original", original), ("refactored", refactored)):
        if not path.is_file():
            raise UserInputError(f"{label} file not found", where=str(path))
    _check_original_source(original)
    if opts.trials < 1:
        raise UserInputError(f"--trials must be at least 1, not {opts.trials}")
    if opts.timeout <= 0:
        raise UserInputError(f"--timeout must be positive, not {opts.timeout}")
    for label, value in (("rtol", opts.rtol), ("atol", opts.atol)):
        if value is not None and value < 0:
            raise UserInputError(f"--{label} must be >= 0, not {value}")
    step_dir = refactored.resolve().parent
    children_dir = Path(opts.children_dir) if opts.children_dir else step_dir / "children"
    map_path = Path(opts.weight_map) if opts.weight_map else None
    if map_path is not None and not map_path.is_file():
        raise UserInputError("weight map not found", where=str(map_path))
    if map_path is None and (step_dir / WEIGHT_MAP_JSON).is_file():
        map_path = step_dir / WEIGHT_MAP_JSON
    weight_map = load_weight_map(map_path) if map_path is not None else None
    files = {_rel(original, step_dir): _sha256(original), _rel(refactored, step_dir): _sha256(refactored)}
    if children_dir.is_dir():
        for child in sorted(children_dir.glob("*.py")):
            files[_rel(child, step_dir)] = _sha256(child)
    if map_path is not None:
        files[_rel(map_path, step_dir)] = _sha256(map_path)
    return _Step(original.resolve(), refactored.resolve(), step_dir, children_dir.resolve(),
                 weight_map, map_path, resolve_device(opts.device), trial_seeds(opts.trials), files)


class StepVerifier:
    """Verifies many steps with one fork server and one cache of original runs.

        with StepVerifier() as verifier:
            for opts in steps:
                result = verifier.verify(opts)
    """

    def __init__(self, work_dir: Path | None = None, reinit_seed: int | None = None) -> None:
        self.reinit_seed = reinit_seed if reinit_seed is not None else secrets.randbits(31)
        self._own_root = work_dir is None
        self.root = Path(tempfile.mkdtemp(prefix="hdecomp-verify-")) if work_dir is None else Path(work_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self._launchers: dict[str, Launcher] = {}
        self._originals: dict[tuple, _OriginalRun] = {}
        self._jobs = 0

    def __enter__(self) -> "StepVerifier":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the fork server and delete the scratch files."""
        for launcher in self._launchers.values():
            launcher.close()
        self._launchers.clear()
        self._originals.clear()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- running jobs

    def _launcher(self, method: str) -> Launcher:
        if method not in self._launchers:
            if method == "forkserver":
                self._launchers[method] = ForkServer()
            elif method == "spawn":
                self._launchers[method] = SpawnLauncher()
            else:
                raise UserInputError(f"unknown start method '{method}'", fix="use forkserver or spawn")
        return self._launchers[method]

    def _new_job(self, role: str, spec: dict[str, Any]) -> Path:
        self._jobs += 1
        job_dir = self.root / f"{self._jobs:04d}-{role}"
        job_dir.mkdir(parents=True)
        spec = {**spec, "role": role, "data_dir": str(spec.get("data_dir", job_dir))}
        (job_dir / "job.json").write_text(json.dumps(spec))
        return job_dir

    def _run(self, opts: StepOptions, job_dir: Path) -> tuple[JobOutcome, dict[str, Any] | None]:
        outcome = self._launcher(opts.start_method).run(job_dir, opts.timeout)
        result_file = job_dir / "result.json"
        # A result counts only from a worker that ran to its own clean exit: code that wrote a
        # result file of its own and then crashed the process must not be believed.
        if outcome.timed_out or outcome.returncode != 0 or not result_file.is_file():
            return outcome, None
        return outcome, json.loads(result_file.read_text())

    # -- the step

    def verify(self, opts: StepOptions) -> StepResult:
        """Verify one step; writes opts.output when given. Raises UserInputError on bad input."""
        t_start = time.monotonic()
        step = resolve(opts)
        result = StepResult(
            status="FAIL", original_file=str(opts.original), refactored_file=str(opts.refactored),
            step_name=step.step_dir.name, files=step.files, device=step.device,
            timestamp=_dt.datetime.now().isoformat(timespec="seconds"),
            verifier_version=VERIFIER_VERSION)
        try:
            self._verify(opts, step, result)
        finally:
            result.timing["total_s"] = time.monotonic() - t_start
        if opts.output is not None:
            result.write(Path(opts.output))
        return result

    def _verify(self, opts: StepOptions, step: _Step, result: StepResult) -> None:
        t0 = time.monotonic()
        static = check_sources(step.original, step.refactored, step.children_dir, step.step_dir)
        result.timing["static_s"] = time.monotonic() - t0
        source_violations = sorted(static.violations, key=lambda v: (v.file or "", v.line or 0))
        result.anticheat = {
            "status": "FAIL" if source_violations else "PASS",
            "source_violations": [v.to_json() for v in source_violations],
            "parameter_violations": [v.to_json() for v in source_violations
                                     if v.rule in ("parameter_in_init", "parameter_outside_child")],
            "runtime_violations": [],
            "children": [c.to_json() for c in static.children.values()],
        }
        result.failures.extend(source_violations)
        if source_violations:
            # Code that breaks the source rules is not run at all.
            result.weight_transfer = {"status": "SKIPPED"}
            result.numerical_comparison = {"status": "SKIPPED",
                                           "reason": "anti-cheat failed; fix the source first"}
            result.status = "FAIL"
            return

        original = self._original(opts, step, result)
        if original is None:
            return
        try:
            self._refactored(opts, step, static, original, result)
        finally:
            self._release(original)

    # -- worker A

    def _original(self, opts: StepOptions, step: _Step, result: StepResult) -> _OriginalRun | None:
        reinit_seed = opts.reinit_seed if opts.reinit_seed is not None else self.reinit_seed
        key = (result.files[_rel(step.original, step.step_dir)], step.device, tuple(step.seeds),
               opts.check_memory, opts.fingerprints, reinit_seed)
        cached = self._originals.pop(key, None)
        if cached is not None and cached.data_dir.is_dir():
            self._originals[key] = cached  # most recently used last
            result.timing["original_s"] = 0.0
            result.memory = dict(cached.result.get("memory") or {}, cached=True)
            return cached
        spec = {"original": str(step.original), "device": step.device, "seeds": step.seeds,
                "reinit_seed": reinit_seed, "check_memory": opts.check_memory,
                "fingerprints": opts.fingerprints, "roots": [str(step.original.parent)],
                "threads": opts.threads}
        job_dir = self._new_job("original", spec)
        outcome, data = self._run(opts, job_dir)
        result.timing["original_s"] = outcome.seconds
        where = str(opts.original)
        if outcome.timed_out:
            raise UserInputError(f"the original did not finish within {opts.timeout:g} s "
                                 f"({_last_phase(job_dir)})", where=where, fix="raise --timeout")
        if data is None:
            result.status = "ERROR"
            result.error = (f"the process running the original died (exit {outcome.returncode}); "
                            f"probably out of memory. {_log_tail(job_dir)}")
            return None
        result.memory = data.get("memory") or {}
        if data.get("refused"):
            result.status = "ERROR"
            result.error = f"refused to run: {data['refused']}"
            return None
        if data.get("error"):
            err = data["error"]
            loc = f"{Path(where).name}:{err['line']}" if err.get("line") else where
            raise UserInputError(f"the original fails while {_STAGE_TEXT.get(err['stage'], err['stage'])}: "
                                 f"{err['type']}: {err['message']}", where=loc)
        data["reinit_seed"] = reinit_seed
        run = _OriginalRun(data, job_dir, seconds=outcome.seconds)
        for index in range(len(step.seeds)):
            out_file = job_dir / f"orig_out_{index}.pt"
            run.outputs.append(torch.load(out_file, weights_only=True))
            out_file.unlink()
            after_file = job_dir / f"orig_after_{index}.pt"
            run.after.append(torch.load(after_file, weights_only=True) if after_file.exists() else None)
            after_file.unlink(missing_ok=True)
        fp_file = job_dir / "orig_fp.pt"
        if fp_file.exists():
            run.fingerprints = torch.load(fp_file, weights_only=True)
            fp_file.unlink()
        run.nbytes = sum(t.numel() * t.element_size() for out in run.outputs
                         for _p, t in numerics.leaves(out) if isinstance(t, torch.Tensor))
        run.nbytes += sum(f.stat().st_size for f in job_dir.iterdir() if f.is_file())
        self._cache(key, run)
        return run

    def _cache(self, key: tuple, run: _OriginalRun) -> None:
        """Keep a run for later steps within the byte budget, evicting the oldest first."""
        self._originals[key] = run
        while self._originals and sum(r.nbytes for r in self._originals.values()) > ORIGINAL_CACHE_BYTES:
            old_key = next(iter(self._originals))
            evicted = self._originals.pop(old_key)
            if evicted is not run:
                shutil.rmtree(evicted.data_dir, ignore_errors=True)
            else:
                break  # too big to keep: removed after this step by _release

    def _release(self, run: _OriginalRun) -> None:
        """Delete an original run's files once no cache entry refers to it."""
        if all(r is not run for r in self._originals.values()):
            shutil.rmtree(run.data_dir, ignore_errors=True)

    # -- worker B and the verdict

    def _refactored(self, opts: StepOptions, step: _Step, static: StaticReport,
                    original: _OriginalRun, result: StepResult) -> None:
        orig_data = original.result
        input_dtypes = [getattr(torch, d) for d in orig_data.get("input_dtypes", [])
                        if isinstance(getattr(torch, d, None), torch.dtype)]
        rtol_default, atol_default = tolerance_for(input_dtypes)
        rtol = opts.rtol if opts.rtol is not None else rtol_default
        atol = opts.atol if opts.atol is not None else atol_default
        children = {rel: {"file": rel, "level": c.level.label if c.level is not None else None,
                          "semantic": c.semantic} for rel, c in static.children.items()}
        map_file = _rel(step.weight_map_path, step.step_dir) if step.weight_map_path else ""
        spec = {"refactored": str(step.refactored), "original": str(step.original),
                "step_dir": str(step.step_dir), "children_dir": str(step.children_dir),
                "data_dir": str(original.data_dir), "device": step.device, "seeds": step.seeds,
                "orig_metas": orig_data["metas"], "used_original": orig_data["used"],
                "weight_map": step.weight_map, "map_file": map_file, "children": children,
                "roots": [str(step.step_dir)], "fingerprints": opts.fingerprints,
                "threads": opts.threads}
        job_dir = self._new_job("refactored", spec)
        outcome, data = self._run(opts, job_dir)
        result.timing["refactored_s"] = outcome.seconds
        t_judge = time.monotonic()
        try:
            _Judge(opts, step, original, result, job_dir, rtol, atol, input_dtypes).run(outcome, data)
        finally:
            result.timing["compare_s"] = time.monotonic() - t_judge
            shutil.rmtree(job_dir, ignore_errors=True)


_STAGE_TEXT = {"load": "loading", "construct": "being constructed", "inputs": "making inputs",
               "forward": "running forward", "internal": "being verified"}


def _last_phase(job_dir: Path) -> str:
    """Where a worker was when it stopped, from its events file."""
    try:
        lines = (job_dir / "events.jsonl").read_text().strip().splitlines()
        last = json.loads(lines[-1])
    except (OSError, IndexError, json.JSONDecodeError):
        return "before loading the files"
    phase = {"load": "loading the files", "memory": "estimating memory",
             "construct": "constructing the model", "transfer": "transferring weights",
             "inputs": "making inputs", "forward": "running forward"}.get(last["phase"], last["phase"])
    trial = f" (trial {last['trial']})" if "trial" in last else ""
    return f"stopped while {phase}{trial}"


def _log_tail(job_dir: Path, chars: int = 600) -> str:
    try:
        text = (job_dir / "worker.log").read_text(errors="replace").strip()
    except OSError:
        return ""
    return f"Worker log: …{text[-chars:]}" if text else ""


class _Judge:
    """Turns worker B's files into the verdict."""

    def __init__(self, opts: StepOptions, step: _Step, original: _OriginalRun, result: StepResult,
                 job_dir: Path, rtol: float, atol: float, input_dtypes: list[torch.dtype]) -> None:
        self.opts, self.step, self.original, self.result = opts, step, original, result
        self.job_dir, self.rtol, self.atol = job_dir, rtol, atol
        self.input_dtypes = input_dtypes
        self.runtime: list[Violation] = []

    def fail(self, violation: Violation) -> None:
        self.result.failures.append(violation)
        if violation.stage == "anticheat":
            self.runtime.append(violation)

    def run(self, outcome: JobOutcome, data: dict[str, Any] | None) -> None:
        result = self.result
        result.numerical_comparison = {"status": "SKIPPED", "rtol": self.rtol, "atol": self.atol,
                                       "input_dtype": _input_dtype(self.input_dtypes),
                                       "num_trials": len(self.step.seeds), "trials": []}
        result.weight_transfer = {"status": "SKIPPED"}
        if outcome.timed_out:
            self.fail(Violation("timeout", f"the refactored step did not finish within "
                                f"{self.opts.timeout:g} s ({_last_phase(self.job_dir)}); it was "
                                "stopped", None, None, "run"))
        elif data is None:
            self.fail(Violation("killed", f"the refactored step's process ended (exit "
                                f"{outcome.returncode}) without a result. {_log_tail(self.job_dir)}",
                                None, None, "run"))
        else:
            self._judge(data)
        result.anticheat["runtime_violations"] = [v.to_json() for v in self.runtime]
        result.anticheat["parameter_violations"] += [
            v.to_json() for v in self.runtime if v.rule == "parameter_outside_child"]
        if self.runtime:
            result.anticheat["status"] = "FAIL"
        result.status = "PASS" if not result.failures else "FAIL"

    def _judge(self, data: dict[str, Any]) -> None:
        for blocked in data.get("blocked_imports", []):
            self.fail(Violation("blocked_import", f"tried to import {blocked}", None, None))
        if not self._transfer(data):
            return
        error = data.get("error")
        if error:
            self._crash(error, data)
            return
        self._runtime(data)
        self._numerics(data)

    def _crash(self, error: dict[str, Any], data: dict[str, Any]) -> None:
        if error["type"] == "ImportError" and data.get("blocked_imports"):
            return  # reported as blocked_import already
        stage = {"load": "loading refactored.py and building RefactoredModel",
                 "forward": f"running forward (trial {data.get('trial', 0)})"}.get(error["stage"],
                                                                                  error["stage"])
        code = f" `{error['code']}`" if error.get("code") else ""
        self.fail(Violation("crash", f"{error['type']} while {stage}:{code} {error['message']}",
                            error.get("file"), error.get("line"), "run"))

    def _transfer(self, data: dict[str, Any]) -> bool:
        """Recompute the weight plan from metadata and judge it; False stops the verdict here."""
        result = self.result
        if "metas" not in data:
            return True  # failed before building the model: reported as a crash
        orig_metas = [TensorMeta.from_json(m) for m in self.original.result["metas"]]
        ref_metas = [TensorMeta.from_json(m) for m in data["metas"]]
        map_file = _rel(self.step.weight_map_path, self.step.step_dir) if self.step.weight_map_path else ""
        plan = plan_transfer(orig_metas, ref_metas, self.step.weight_map, map_file=map_file,
                             used_original=self.original.result["used"])
        random_buffers = set(data.get("random_buffers", []))
        failures: list[Violation] = list(plan.errors)
        if not plan.same_as(data.get("plan", {})):
            failures.append(Violation("tampered", "the worker applied a weight plan that differs "
                                      "from the verifier's", None, None, "weight_transfer"))
        params = {m.name for m in ref_metas if m.kind == "param"}
        for name in plan.unmapped_refactored:
            meta = next(m for m in ref_metas if m.name == name)
            if name in params or name in random_buffers:
                what = "parameter" if name in params else "randomly initialised buffer"
                failures.append(Violation(
                    "unmapped_refactored", f"refactored {what} '{name}' {list(meta.shape)} receives "
                    "no weight from the original (it would keep its own init); map it in "
                    "weight_map.json", None, None, "weight_transfer"))
            else:
                result.warnings.append(f"refactored buffer '{name}' receives no value from the "
                                       "original; it is deterministic, so its own value is used")
        orig_by_name = {m.name: m for m in orig_metas}
        kept = set(self.original.result.get("kept", []))
        for name in plan.unmapped_original:
            meta = orig_by_name[name]
            if meta.kind == "buffer" and name in kept:
                # Its value is the original's own (a mask, an index table): the refactored may
                # rebuild it, and the numerics decide whether it did so correctly.
                result.warnings.append(f"original buffer '{name}' is not transferred; the "
                                       "refactored model must rebuild the same values")
                continue
            failures.append(Violation(
                "unmapped_original", f"original {meta.kind} '{name}' {list(meta.shape)} is used by "
                "the original's forward but nothing in the refactored model receives it",
                None, None, "weight_transfer"))
        used = set(self.original.result["used"])
        for meta in orig_metas:
            if meta.name not in plan.assignments and not any(n in used for n in meta.names) and \
                    not meta.name.endswith("num_batches_tracked"):
                result.warnings.append(f"original {meta.kind} '{meta.name}' is not used by its "
                                       "forward and is not transferred")
        result.weight_transfer = {
            "status": "FAIL" if failures else "OK", "method": plan.method(),
            "mapped_count": plan.mapped_count,
            "unmapped_original": plan.unmapped_original,
            "unmapped_refactored": plan.unmapped_refactored,
            "weight_map_file": map_file or None,
            "reinit_seed": self.original.result.get("reinit_seed"),
            "kept_original": self.original.result.get("kept", []),
            "mapping": plan.assignments,
        }
        for violation in failures:
            self.fail(violation)
        return not failures

    def _runtime(self, data: dict[str, Any]) -> None:
        for v in data.get("violations", []):
            count = f" ({v['count']} times)" if v.get("count", 1) > 1 else ""
            code = f" `{v['code']}`" if v.get("code") else ""
            self.fail(Violation(v["rule"], f"{v['message']}{count}{code}", v.get("file"), v.get("line")))
        orig_random = self.original.result.get("random_ops", [])
        if data.get("random_ops") and not orig_random:
            self.fail(Violation("random_op", f"random ops {', '.join(data['random_ops'])} ran during "
                                "an eval-mode forward; the original draws nothing (dropout in "
                                "training mode?)", None, None))
        seen: set[tuple[str, str]] = set()
        orig_ops = self.original.result.get("ops", [])
        for trial in data.get("trials", []):
            if trial.get("training"):
                names = ", ".join(trial["training"][:5])
                key = ("training", names)
                if key not in seen:
                    seen.add(key)
                    self.fail(Violation("training_mode", f"modules in training mode after the "
                                        f"forward: {names}; the verifier runs in eval mode", None, None))
            for call in trial.get("calls", []):
                self._child_rules(call, orig_ops, seen)
        calls = data["trials"][0]["calls"] if data.get("trials") else []
        self.result.anticheat["child_calls"] = calls

    def _child_rules(self, call: dict[str, Any], orig_ops: list[str], seen: set) -> None:
        level, count, ops = call.get("level"), call["count"], call["ops"]
        where = f"child `{call['child']}`"
        ops_text = ", ".join(ops) if ops else "none"
        if level == "kernel" and count > 1:
            rule, message = "kernel_not_single_op", (
                f"{where} is declared a kernel but performs {count} logical ops ({ops_text}); a "
                "kernel is one op: split it, or declare it a fusion")
        elif level == "fusion" and count > FUSION_MAX_OPS_RULE:
            rule, message = "fusion_op_count", (
                f"{where} is declared a fusion but performs {count} ops ({ops_text}); a fusion has "
                f"{FUSION_MIN_OPS}-{FUSION_MAX_OPS_RULE}: split it, or declare it a layer")
        elif level == "fusion" and count < FUSION_MIN_OPS:
            # Over-labelling a kernel hides nothing: say so, do not fail.
            note = (f"{where} ({call.get('file')}) is declared a fusion but performs {count} "
                    f"op(s) ({ops_text}); it is a kernel")
            if note not in self.result.warnings:
                self.result.warnings.append(note)
            return
        elif level != "kernel" and len(orig_ops) >= 2 and len(ops) >= len(orig_ops):
            rule, message = "wraps_original", (
                f"{where} performs {len(ops)} ops, all of the original's {len(orig_ops)}: the step "
                "does not decompose anything")
        else:
            return
        key = (rule, call["child"])
        if key not in seen:
            seen.add(key)
            self.fail(Violation(rule, message, call.get("file"), None))

    def _numerics(self, data: dict[str, Any]) -> None:
        result, original = self.result, self.original
        num = result.numerical_comparison
        trials_done = data.get("trials", [])
        failures: list[Violation] = []
        reported: set[tuple[str, str]] = set()
        max_diff = 0.0
        for index, seed in enumerate(self.step.seeds[:len(trials_done)]):
            ref_out = torch.load(self.job_dir / f"ref_out_{index}.pt", weights_only=True)
            ref_after = torch.load(self.job_dir / f"ref_after_{index}.pt", weights_only=True)
            pristine = torch.load(original.data_dir / f"inputs_{index}.pt", weights_only=True)
            orig_out = original.outputs[index]
            diffs, problems = numerics.compare(orig_out, ref_out, self.rtol, self.atol)
            problems += numerics.degenerate(orig_out, ref_out, pristine)
            mutated = original.result["trials"][index]["mutated"]
            problems += numerics.input_changes(pristine, ref_after, original.after[index], mutated,
                                               self.rtol, self.atol)
            for diff in diffs:
                if not diff.passed:
                    problems.append(Violation("numerics", _diff_message(diff, index, seed, self.rtol,
                                                                        self.atol), None, None, "numerics"))
            trial_max = max((d.max_abs for d in diffs), default=0.0)
            trial_rel = max((d.max_rel for d in diffs), default=0.0)
            max_diff = max(max_diff, trial_max)
            num["trials"].append({"trial": index, "seed": seed, "max_diff": _json_number(trial_max),
                                  "max_rel_diff": _json_number(trial_rel), "pass": not problems,
                                  "leaves": [d.to_json() for d in diffs],
                                  "problems": [p.message for p in problems]})
            for problem in problems:
                # One report per rule and output leaf (or input): later trials repeat the first.
                words = problem.message.split(" ")
                subject = " ".join(words[:2]) if words[0] == "input" else words[0]
                key = (problem.rule, subject.rstrip(":"))
                if key not in reported:
                    reported.add(key)
                    failures.append(problem)
        magnitude = numerics.magnitude(original.outputs, self.atol)
        num["output_magnitude"] = magnitude
        num["max_diff_across_trials"] = _json_number(max_diff)
        if magnitude["weak"]:
            result.warnings.append(
                f"weak signal: the original's outputs never exceed {magnitude['max_abs']:.3g}, "
                f"under {numerics.WEAK_SIGNAL_FACTOR:g}x atol ({self.atol:g}); the comparison "
                "says little about this step")
        if failures and any(f.rule == "numerics" for f in failures):
            fp_file = self.job_dir / "ref_fp.pt"
            if fp_file.exists() and original.fingerprints:
                child_fps = torch.load(fp_file, weights_only=True)
                divergence = numerics.first_divergence(original.fingerprints, child_fps,
                                                       self.rtol, self.atol)
                if divergence:
                    num["divergence"] = divergence
                    failures = [Violation(f.rule, f"{f.message}; {divergence['message']}", f.file,
                                          f.line, f.stage) if f.rule == "numerics" and i == 0 else f
                                for i, f in enumerate(failures)]
        num["status"] = "FAIL" if failures else "PASS"
        for failure in failures:
            self.fail(failure)


def _json_number(value: float) -> float | str:
    """JSON has no inf or nan: write those as strings."""
    return value if math.isfinite(value) else str(value)


def _input_dtype(dtypes: list[torch.dtype]) -> str:
    floats = [d for d in dtypes if d.is_floating_point]
    return str((floats or dtypes or [torch.float32])[0])


def _diff_message(diff: numerics.LeafDiff, index: int, seed: int, rtol: float, atol: float) -> str:
    where = f" at {diff.worst_index}" if diff.worst_index else ""
    values = ""
    if diff.ref_value is not None:
        values = f" (refactored {diff.ref_value:.6g}, original {diff.orig_value:.6g})"
    return (f"{diff.path} {diff.shape} differs in trial {index} (seed {seed}): max abs diff "
            f"{diff.max_abs:.3g}, max rel diff {diff.max_rel:.3g}{where}{values}; rtol {rtol:g}, "
            f"atol {atol:g}")


def verify_step(opts: StepOptions) -> StepResult:
    """Verify one step in a fresh StepVerifier (see StepVerifier for many steps)."""
    with StepVerifier() as verifier:
        return verifier.verify(opts)


__all__ = ["StepOptions", "StepVerifier", "verify_step", "load_weight_map", "resolve_device"]
