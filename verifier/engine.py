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

import datetime as _dt
import json
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import torch

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import QUICK_STATUS as QUICK, STEPS_DIR, VERIFIER_VERSION, fresh_trial_seeds, \
    tolerance_for
from verifier.judge import numerics
from verifier.options import (OriginalRun, ResolvedStep, StepOptions,
                                             load_weight_map, relative_name, resolve,
                                             resolve_device)
from verifier.report import StepResult
from verifier.runtime import isolation
from verifier.runtime.sandbox import ForkServer, JobOutcome, Launcher, SpawnLauncher
from verifier.static.source_rules import StaticReport, check_sources
from verifier.judge.verdict import Judge, current_phase, last_phase, log_tail, STAGE_TEXT

# Seconds between progress reports while a worker runs.
HEARTBEAT_S = 10.0

# The locate run (a failing step's trial 0 again, under a line tracer) stops after this long:
# it only names a line in a message.
LOCATE_TIMEOUT_S = 120.0

# Original runs kept for reuse across steps (outputs in memory, inputs and state on disk), in
# bytes; least recently used runs go first. Steps rarely share an original, so this is small.
ORIGINAL_CACHE_BYTES = 1 << 30



def _display_path(path: Path) -> str:
    """`steps/<step>/original.py` inside a decomposition (which may be staged or moved), the
    path as given elsewhere."""
    if path.parent.parent.name == STEPS_DIR:
        return path.relative_to(path.parent.parent.parent).as_posix()
    return str(path)

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
        self._originals: dict[tuple, OriginalRun] = {}
        self._jobs = 0
        # Trial seeds drawn fresh (secrets) once per StepVerifier, so that the steps of one
        # `lower` share the original's cached runs; extended when a step asks for more trials.
        self._fresh_seeds: list[int] = []

    def trial_seeds(self, trials: int) -> list[int]:
        """This verifier's fresh seeds for `trials` trials (never the public BASE_SEED ones)."""
        if len(self._fresh_seeds) < trials:
            extra = [s for s in fresh_trial_seeds(trials + len(self._fresh_seeds))
                     if s not in self._fresh_seeds]
            self._fresh_seeds += extra[:trials - len(self._fresh_seeds)]
        return self._fresh_seeds[:trials]

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

    def _run(self, opts: StepOptions, job_dir: Path, collect: tuple[str, ...] = (),
             worker: str = "original") -> tuple[JobOutcome, dict[str, Any] | None]:
        with _Heartbeat(opts.progress, worker, job_dir):
            outcome = self._launcher(opts.start_method).run(job_dir, opts.timeout)
        if collect:
            _collect(job_dir / "out", job_dir, collect)
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
        if not step.seeds_given:
            step.seeds = self.trial_seeds(opts.trials)
        result = StepResult(
            status="FAIL", original_file=_display_path(Path(opts.original)),
            refactored_file=_display_path(Path(opts.refactored)),
            step_name=step.step_dir.name, files=step.files, device=step.device,
            timestamp=_dt.datetime.now().isoformat(timespec="seconds"),
            verifier_version=VERIFIER_VERSION)
        try:
            self._verify(opts, step, result)
        finally:
            result.timing["total_s"] = time.monotonic() - t_start
        if opts.quick and result.status == "PASS":
            result.status = QUICK
        if opts.output is not None:
            result.write(Path(opts.output))
        return result

    def _verify(self, opts: StepOptions, step: ResolvedStep, result: StepResult) -> None:
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

    def _original(self, opts: StepOptions, step: ResolvedStep, result: StepResult) -> OriginalRun | None:
        reinit_seed = opts.reinit_seed if opts.reinit_seed is not None else self.reinit_seed
        key = (result.files[relative_name(step.original, step.step_dir)], step.device, tuple(step.seeds),
               tuple(step.distributions),
               opts.check_memory, opts.fingerprints, reinit_seed, _threads(opts, step))
        cached = self._originals.pop(key, None)
        if cached is not None and cached.data_dir.is_dir():
            self._originals[key] = cached  # most recently used last
            result.timing["original_s"] = 0.0
            result.memory = dict(cached.result.get("memory") or {}, cached=True)
            return cached
        spec = {"original": str(step.original), "device": step.device, "seeds": step.seeds,
                "distributions": step.distributions, "reinit_seed": reinit_seed, "check_memory": opts.check_memory,
                "fingerprints": opts.fingerprints, "roots": [str(step.original.parent)],
                "threads": _threads(opts, step)}
        job_dir = self._new_job("original", spec)
        outcome, data = self._run(opts, job_dir)
        result.timing["original_s"] = outcome.seconds
        where = str(opts.original)
        if outcome.timed_out:
            raise UserInputError(f"the original did not finish within {opts.timeout:g} s "
                                 f"({last_phase(job_dir)})", where=where, fix="raise --timeout")
        if data is None:
            result.status = "ERROR"
            result.error = (f"the process running the original died (exit {outcome.returncode}); "
                            f"probably out of memory. {log_tail(job_dir)}")
            return None
        result.memory = data.get("memory") or {}
        if "reference_dtype" in data:
            # What the reference run really used (None: the model would not run in that dtype).
            result.memory["reference_dtype_used"] = data["reference_dtype"]
        if data.get("refused"):
            result.status = "ERROR"
            result.error = f"refused to run: {data['refused']}"
            return None
        if data.get("error"):
            err = data["error"]
            if _out_of_memory(err):
                # This machine, not the model: the step cannot be judged here (like a refusal).
                result.status = "ERROR"
                result.error = (f"the original ran out of memory while "
                                f"{STAGE_TEXT.get(err['stage'], err['stage'])} ({err['type']}: "
                                f"{err['message'][:160]}); run it on a larger machine")
                return None
            loc = f"{Path(where).name}:{err['line']}" if err.get("line") else where
            raise UserInputError(f"the original fails while {STAGE_TEXT.get(err['stage'], err['stage'])}: "
                                 f"{err['type']}: {err['message']}", where=loc)
        data["reinit_seed"] = reinit_seed
        run = OriginalRun(data, job_dir, seconds=outcome.seconds)
        for index in range(len(step.seeds)):
            out_file = job_dir / f"orig_out_{index}.pt"
            run.outputs.append(torch.load(out_file, weights_only=True))
            out_file.unlink()
            after_file = job_dir / f"orig_after_{index}.pt"
            run.after.append(torch.load(after_file, weights_only=True) if after_file.exists() else None)
            after_file.unlink(missing_ok=True)
            ref64_file = job_dir / f"orig_ref64_{index}.pt"
            run.ref64.append(torch.load(ref64_file, weights_only=True) if ref64_file.exists() else None)
            ref64_file.unlink(missing_ok=True)
        for index, out in enumerate(run.outputs):
            blank = numerics.nothing_to_compare(out)
            if blank:
                # Every decomposition matches NaN "exactly": a PASS would prove nothing.
                raise UserInputError(f"the original's output is {blank} on the inputs of trial "
                                     f"{index + 1} (seed {step.seeds[index]})", where=where,
                                     fix="fix the model: it must compute finite values on "
                                         "get_inputs()")
        fp_file = job_dir / "orig_fp.pt"
        if fp_file.exists():
            run.fingerprints = torch.load(fp_file, weights_only=True)
            fp_file.unlink()
        run.nbytes = sum(t.numel() * t.element_size() for out in run.outputs
                         for _p, t in numerics.leaves(out) if isinstance(t, torch.Tensor))
        run.nbytes += sum(f.stat().st_size for f in job_dir.iterdir() if f.is_file())
        self._cache(key, run)
        return run

    def _cache(self, key: tuple, run: OriginalRun) -> None:
        """Keep a run for later steps within the byte budget, evicting the oldest first."""
        self._originals[key] = run
        while self._originals and sum(r.nbytes for r in self._originals.values()) > ORIGINAL_CACHE_BYTES:
            old_key = next(iter(self._originals))
            evicted = self._originals.pop(old_key)
            if evicted is not run:
                shutil.rmtree(evicted.data_dir, ignore_errors=True)
            else:
                break  # too big to keep: removed after this step by _release

    def _release(self, run: OriginalRun) -> None:
        """Delete an original run's files once no cache entry refers to it."""
        if all(r is not run for r in self._originals.values()):
            shutil.rmtree(run.data_dir, ignore_errors=True)

    # -- worker B and the verdict

    def _refactored(self, opts: StepOptions, step: ResolvedStep, static: StaticReport,
                    original: OriginalRun, result: StepResult) -> None:
        orig_data = original.result
        input_dtypes = [getattr(torch, d) for d in orig_data.get("input_dtypes", [])
                        if isinstance(getattr(torch, d, None), torch.dtype)]
        rtol_default, atol_default = tolerance_for(input_dtypes)
        rtol = opts.rtol if opts.rtol is not None else rtol_default
        atol = opts.atol if opts.atol is not None else atol_default
        children = {rel: {"file": rel, "level": c.level.label if c.level is not None else None}
                    for rel, c in static.children.items()}
        map_file = relative_name(step.weight_map_path, step.step_dir) if step.weight_map_path else ""
        spec = {"refactored": str(step.refactored), "original": str(step.original),
                "step_dir": str(step.step_dir), "children_dir": str(step.children_dir),
                "data_dir": str(original.data_dir), "device": step.device, "seeds": step.seeds,
                "orig_metas": orig_data["metas"], "used_original": orig_data["used"],
                "weight_map": step.weight_map, "map_file": map_file, "children": children,
                "roots": [str(step.step_dir)], "fingerprints": opts.fingerprints,
                "threads": _threads(opts, step), "isolation": isolation.mode()}
        result.isolation = spec["isolation"]  # what the parent required, not what the worker says
        job_dir = self._new_job("refactored", spec)
        outcome, data = self._run(opts, job_dir, collect=_REFACTORED_OUTPUTS, worker="refactored")
        result.timing["refactored_s"] = outcome.seconds
        t_judge = time.monotonic()

        def locate(call: int | None) -> Any:
            return self._locate(opts, spec, call)

        try:
            Judge(opts, step, original, result, job_dir, rtol, atol, input_dtypes,
                  locate=locate).run(outcome, data)
        finally:
            result.timing["compare_s"] = time.monotonic() - t_judge
            shutil.rmtree(job_dir, ignore_errors=True)


    def _locate(self, opts: StepOptions, spec: dict[str, Any], call: int | None) -> Any:
        """Trial 0 of a step that failed on numerics, again, under a line tracer in the same
        sandbox (same view, same blocker): what each statement computed (`locate.pt`), or None.
        Bounded by LOCATE_TIMEOUT_S; its outcome only words a message."""
        job_dir = self._new_job("locate", {**spec, "locate_call": call})
        try:
            outcome = self._launcher(opts.start_method).run(job_dir, min(opts.timeout,
                                                                         LOCATE_TIMEOUT_S))
            _collect(job_dir / "out", job_dir, ("locate.pt",))
            trace_file = job_dir / "locate.pt"
            if outcome.timed_out or not trace_file.is_file():
                return None
            return torch.load(trace_file, weights_only=True)
        except Exception:  # noqa: BLE001 - diagnostic only
            return None
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)


# What the refactored worker may hand back from its writable out/ directory (glob patterns).
_REFACTORED_OUTPUTS = ("result.json", "ref_out_*.pt", "ref_after_*.pt", "ref_fp.pt")


def _collect(out_dir: Path, job_dir: Path, patterns: tuple[str, ...]) -> None:
    """Move the expected regular files of an untrusted worker's out/ into its job directory.

    Only plain files with expected names move (never a symlink, which could point the parent at
    any file it can read); whatever else the worker left there stays and is deleted with the job.
    """
    if not out_dir.is_dir() or out_dir.is_symlink():
        return
    for pattern in patterns:
        for path in out_dir.glob(pattern):
            if path.is_symlink() or not path.is_file():
                continue
            path.replace(job_dir / path.name)


class _Heartbeat:
    """While a worker runs: every HEARTBEAT_S, tell `progress` which phase and trial it is in
    (read from its events file, known phases only) and for how long it has run."""

    def __init__(self, progress: Callable[[dict[str, Any]], None] | None, worker: str,
                 job_dir: Path) -> None:
        self.progress, self.worker, self.job_dir = progress, worker, job_dir
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "_Heartbeat":
        if self.progress is not None:
            self.thread = threading.Thread(target=self._beat, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()

    def _beat(self) -> None:
        assert self.progress is not None
        t0 = time.monotonic()
        while not self.stop.wait(HEARTBEAT_S):
            self.progress({"worker": self.worker, **current_phase(self.job_dir),
                           "seconds": round(time.monotonic() - t0, 1)})


def _threads(opts: StepOptions, step: ResolvedStep) -> int | None:
    """Worker threads: as asked, else 1 on CPU (deterministic GEMMs), torch's choice on CUDA."""
    if opts.threads is not None:
        return opts.threads
    return 1 if step.device == "cpu" else None


def verify_step(opts: StepOptions) -> StepResult:
    """Verify one step in a fresh StepVerifier (see StepVerifier for many steps)."""
    with StepVerifier() as verifier:
        return verifier.verify(opts)


__all__ = ["StepOptions", "StepVerifier", "verify_step", "load_weight_map", "resolve_device"]


def _out_of_memory(err: dict[str, Any]) -> bool:
    """Whether a worker's error is the allocator running out, not the model's own failure."""
    text = f"{err.get('type')}: {err.get('message')}"
    return err.get("type") == "MemoryError" or any(
        mark in text for mark in ("can't allocate memory", "Cannot allocate memory",
                                  "out of memory", "OutOfMemoryError"))
