"""The verdict: worker B's files and the original's outputs in, failures and numbers out.

Nothing a worker reports is taken on faith where the parent can check it: the weight plan is
recomputed from metadata, outputs are loaded with `weights_only=True` and compared here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import torch

from hdecomp_ir.spec import FUSION_MAX_OPS, FUSION_MIN_OPS, WEIGHT_MAP_JSON
from hdecomp_ir.policy import (WEIGHT_SUFFIX, loop_run, missing_op_families, op_family,
                               repeats_in)
from verifier.judge import locate as locate_mod
from verifier.judge import numerics
from verifier.options import OriginalRun, ResolvedStep, StepOptions, relative_name
from verifier.report import StepResult, Violation
from verifier.runtime.instrument import fingerprint
from verifier.runtime.sandbox import JobOutcome
from verifier.weights import TensorMeta, plan_transfer

STAGE_TEXT = {"load": "loading", "construct": "being constructed", "inputs": "making inputs",
               "forward": "running forward", "internal": "being verified"}


# The worker phases a progress line or a timeout message may name. The refactored worker's
# events file is written by untrusted code: nothing else it says reaches the user's terminal.
PHASE_TEXT = {"load": "loading the files", "memory": "estimating memory",
              "construct": "constructing the model", "transfer": "transferring weights",
              "inputs": "making inputs", "forward": "running forward"}


def current_phase(job_dir: Path) -> dict[str, Any]:
    """Where a worker is now, from its events file: {"phase": known name or None, "trial": int
    or None}."""
    try:
        lines = (job_dir / "events.jsonl").read_text().strip().splitlines()
        last = json.loads(lines[-1])
    except (OSError, IndexError, json.JSONDecodeError, ValueError):
        return {"phase": None, "trial": None}
    if not isinstance(last, dict):
        return {"phase": None, "trial": None}
    phase = last.get("phase") if last.get("phase") in PHASE_TEXT else None
    trial = last.get("trial")
    return {"phase": phase, "trial": trial if isinstance(trial, int) and 0 <= trial < 1000 else None}


def phase_text(phase: dict[str, Any]) -> str:
    """`running forward (trial 2)` for a current_phase() record."""
    text = PHASE_TEXT.get(phase.get("phase") or "", "before loading the files")
    return text + (f" (trial {phase['trial']})" if phase.get("trial") is not None else "")


def last_phase(job_dir: Path) -> str:
    """Where a worker was when it stopped, from its events file."""
    return f"stopped while {phase_text(current_phase(job_dir))}"


def log_tail(job_dir: Path, chars: int = 600) -> str:
    try:
        text = (job_dir / "worker.log").read_text(errors="replace").strip()
    except OSError:
        return ""
    return f"Worker log: …{text[-chars:]}" if text else ""


class Judge:
    """Turns worker B's files into the verdict."""

    def __init__(self, opts: StepOptions, step: ResolvedStep, original: OriginalRun, result: StepResult,
                 job_dir: Path, rtol: float, atol: float, input_dtypes: list[torch.dtype],
                 locate: Callable[[int | None], Any] | None = None) -> None:
        self.opts, self.step, self.original, self.result = opts, step, original, result
        self.job_dir, self.rtol, self.atol = job_dir, rtol, atol
        self.input_dtypes = input_dtypes
        # Runs the `locate` job (trial 0 under a line tracer) for the diverging child call;
        # called only once a step has failed on numerics.
        self.locate = locate
        self.runtime: list[Violation] = []

    def fail(self, violation: Violation) -> None:
        self.result.failures.append(violation)
        if violation.stage == "anticheat":
            self.runtime.append(violation)

    def run(self, outcome: JobOutcome, data: dict[str, Any] | None) -> None:
        result = self.result
        result.numerical_comparison = {"status": "SKIPPED", "rtol": self.rtol, "atol": self.atol,
                                       "input_dtype": _input_dtype(self.input_dtypes),
                                       "num_trials": len(self.step.seeds), "trials": [],
                                       "worker_threads": self.opts.threads or
                                       (1 if self.step.device == "cpu" else None)}
        result.weight_transfer = {"status": "SKIPPED"}
        if outcome.timed_out:
            self.fail(Violation("timeout", f"the refactored step did not finish within "
                                f"{self.opts.timeout:g} s ({last_phase(self.job_dir)}); it was "
                                "stopped", None, None, "run"))
        elif data is None:
            self.fail(Violation("killed", f"the refactored step's process ended (exit "
                                f"{outcome.returncode}) without a result. {log_tail(self.job_dir)}",
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
        map_file = relative_name(self.step.weight_map_path, self.step.step_dir) if self.step.weight_map_path else ""
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
                    f"no weight from the original (it would keep its own init); map it in "
                    f"{WEIGHT_MAP_JSON}", None, None, "weight_transfer"))
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
        structural = sorted(n for n, how in plan.sources.items() if how == "structural")
        if structural and map_file:
            # A weight map that misses entries falls back to matching by shape and order, which
            # can pair the wrong tensors of equal shape; say which ones were guessed.
            shown = ", ".join(structural[:5]) + (f" (+{len(structural) - 5} more)"
                                                 if len(structural) > 5 else "")
            result.warnings.append(f"{map_file} has no entry for {shown}: matched by shape and "
                                   "order (structural fallback); add the entries to be sure")
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
            count = f" (seen {v['count']} times)" if v.get("count", 1) > 1 else ""
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
        self._uncalled_children(data)

    def _uncalled_children(self, data: dict[str, Any]) -> None:
        """Warn about child files imported by the step but never run in any trial: usually a
        component constructed and forgotten, whose work the parent then does some other way."""
        if not data.get("trials"):
            return
        ran = {call.get("file") for trial in data["trials"] for call in trial.get("calls", [])}
        for child in self.result.anticheat.get("children", []):
            file = child.get("file")
            if child.get("level") and file not in ran:
                note = (f"{file} is imported by the step but no module of it ran in the forward "
                        "(constructed and never called?)")
                if note not in self.result.warnings:
                    self.result.warnings.append(note)

    def _child_rules(self, call: dict[str, Any], orig_ops: list[str], seen: set) -> None:
        level, count, ops = call.get("level"), call["count"], call["ops"]
        where = f"child `{call['child']}`"
        ops_text = ", ".join(ops) if ops else "none"
        loop = loop_run(ops) if level == "kernel" and count == 1 and len(ops) > 1 else None
        if loop is not None and not repeats_in(orig_ops, *loop):
            # one op only as the original's own loop over time: a loop the step made up
            # (a dummy `for` around extra work) is not the workload
            rule, message = "loop_not_in_original", (
                f"{where} is declared a kernel as a loop over time ({loop[1]} steps of "
                f"{', '.join(loop[0])}), but the original runs no such loop: split it, or "
                "declare it a fusion")
        elif level == "kernel" and count > 1 and not _combines_weights_as_original(ops, orig_ops):
            rule, message = "kernel_not_single_op", (
                f"{where} is declared a kernel but performs {count} logical ops ({ops_text}); a "
                "kernel is one op: split it, or declare it a fusion")
        elif level == "fusion" and count - _weights_combined_as_original(ops, orig_ops) > FUSION_MAX_OPS:
            # matmuls between weights that the original performs too (SwinV2's position-bias MLP
            # on a constant table, inside the attention scores' fusion) are the model's own
            # weight preparation, as for a kernel; merged layers are not (the original has none)
            rule, message = "fusion_op_count", (
                f"{where} is declared a fusion but performs {count} ops ({ops_text}); a fusion has "
                f"{FUSION_MIN_OPS}-{FUSION_MAX_OPS}: split it, or declare it a layer")
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
        if len(trials_done) != len(self.step.seeds):
            # A clean-looking report with fewer trials would leave nothing to compare: the count is
            # the parent's, never the worker's.
            failures.append(Violation("tampered", f"the worker reported {len(trials_done)} of "
                                      f"{len(self.step.seeds)} trials without an error", None, None,
                                      "numerics"))
        reported: set[tuple[str, str]] = set()
        max_diff = 0.0
        for index, seed in enumerate(self.step.seeds[:len(trials_done)]):
            ref_out = torch.load(self.job_dir / f"ref_out_{index}.pt", weights_only=True)
            ref_after = torch.load(self.job_dir / f"ref_after_{index}.pt", weights_only=True)
            pristine = torch.load(original.data_dir / f"inputs_{index}.pt", weights_only=True)
            orig_out = original.outputs[index]
            orig_trial = original.result["trials"][index]
            distribution = orig_trial.get("distribution", "default")
            # The table's atol is for unit-scale values; on the wide trial (inputs up to 1e2)
            # fp32 rounding grows with the values, so atol scales with the output's magnitude.
            atol = self.atol * numerics.wide_atol_scale(orig_out) \
                if distribution != "default" else self.atol
            diffs, problems = numerics.compare(orig_out, ref_out, self.rtol, atol)
            problems += numerics.degenerate(orig_out, ref_out, pristine, self.rtol, atol)
            problems += numerics.weak_signal(orig_out, ref_out, self.rtol, atol)
            mutated = orig_trial["mutated"]
            problems += numerics.input_changes(pristine, ref_after, original.after[index], mutated,
                                               self.rtol, self.atol)
            # The tolerance table decides first; an fp16/bf16 leaf that misses it may still pass
            # on the float64 reference (its error no worse than the original's own rounding).
            ref64 = original.ref64[index] if index < len(original.ref64) else None
            ref64_leaves = dict(numerics.leaves(ref64)) if ref64 is not None else {}
            orig_leaves, ref_leaves = dict(numerics.leaves(orig_out)), dict(numerics.leaves(ref_out))
            decided: dict[str, Any] = {}
            for diff in diffs:
                if diff.passed:
                    continue
                check = None
                if isinstance(orig_leaves.get(diff.path), torch.Tensor) and \
                        isinstance(ref_leaves.get(diff.path), torch.Tensor):
                    check = numerics.fp64_reference(orig_leaves[diff.path], ref_leaves[diff.path],
                                                    ref64_leaves.get(diff.path), atol)
                if check is not None:
                    decided[diff.path] = check
                    if check["pass"]:
                        continue
                message = _diff_message(diff, index, seed, self.rtol, atol)
                if check is not None:
                    message += (f"; against the {check['reference_dtype']} reference its RMS error "
                                f"{check['rms_error_refactored']:.3g} (max "
                                f"{check['max_error_refactored']:.3g}) exceeds "
                                f"{check['multiplier']:g}x the original's own "
                                f"{check['rms_error_original']:.3g} (max "
                                f"{check['max_error_original']:.3g})")
                problems.append(Violation("numerics", message, None, None, "numerics"))
            trial_max = max((d.max_abs for d in diffs), default=0.0)
            trial_rel = max((d.max_rel for d in diffs), default=0.0)
            max_diff = max(max_diff, trial_max)
            entry = {"trial": index, "seed": seed, "distribution": distribution, "atol": atol,
                     "max_diff": _json_number(trial_max), "max_rel_diff": _json_number(trial_rel),
                     "pass": not problems, "tolerance_pass": all(d.passed for d in diffs),
                     "decided_by": "fp64_reference" if decided else "tolerance",
                     "leaves": [d.to_json() for d in diffs],
                     "problems": [p.message for p in problems]}
            if orig_trial.get("distribution_fallbacks"):
                entry["distribution_fallbacks"] = orig_trial["distribution_fallbacks"]
            if decided:
                entry["fp64_reference"] = decided
            num["trials"].append(entry)
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
        num["seeds"] = list(self.step.seeds)
        num["seed_source"] = "given" if self.step.seeds_given else "fresh"
        num["distributions"] = [t.get("distribution", "default")
                                for t in original.result.get("trials", [])]
        if any(t.get("decided_by") == "fp64_reference" for t in num["trials"]):
            num["decided_by"] = "fp64_reference"
        if magnitude["weak"]:
            # Judged by weak_signal() relative to the output's scale (a FAIL when it differs).
            result.warnings.append(
                f"weak signal: the original's outputs never exceed {magnitude['max_abs']:.3g}, "
                f"under {numerics.WEAK_SIGNAL_FACTOR:g}x atol ({self.atol:g}); compared relative "
                "to their own scale as well")
        failures += self._op_coverage(data)
        if failures and any(f.rule == "numerics" for f in failures):
            fp_file = self.job_dir / "ref_fp.pt"
            if fp_file.exists() and original.fingerprints:
                child_fps = torch.load(fp_file, weights_only=True)
                divergence = numerics.first_divergence(original.fingerprints, child_fps,
                                                       self.rtol, self.atol)
                if divergence:
                    divergence = self._place(divergence, child_fps)
                    num["divergence"] = divergence
                    where = (divergence.get("file"), divergence.get("line"))
                    failures = [Violation(f.rule, f"{f.message}; {divergence['message']}",
                                          where[0] if where[1] else f.file,
                                          where[1] or f.line, f.stage)
                                if f.rule == "numerics" and i == 0 else f
                                for i, f in enumerate(failures)]
        num["status"] = "FAIL" if failures else "PASS"
        for failure in failures:
            self.fail(failure)

    def _place(self, divergence: dict[str, Any], child_fps: list[dict[str, Any]]) -> dict[str, Any]:
        """file:line for the divergence (see verifier.judge.locate). Diagnostic only: anything
        that goes wrong here leaves the message as first_divergence wrote it."""
        try:
            source = locate_mod.StepSource(self.step.step_dir, [
                c["file"] for c in self.result.anticheat.get("children", []) if c.get("file")])
            trace = None
            if self.locate is not None:
                trace = locate_mod.clean_trace(self.locate(divergence.get("call")), source)
            inputs = torch.load(self.original.data_dir / "inputs_0.pt", weights_only=True)
            input_fps = [fp for fp in map(fingerprint, numerics.leaves_tensors(inputs))
                         if fp is not None]
            ref = locate_mod.Reference.build(self.original.fingerprints, input_fps,
                                             self.rtol, self.atol)
            return locate_mod.place_divergence(divergence, child_fps, trace, ref, source)
        except Exception:  # noqa: BLE001 - a message detail must never cost the verdict
            return divergence

    def _op_coverage(self, data: dict[str, Any]) -> list[Violation]:
        """Every compute op of the original must appear among the children's (policy table)."""
        return _op_coverage_violations(self.original.result.get("ops", []), data.get("trials", []))


def _weights_combined_as_original(ops: list[str], orig_ops: list[str]) -> int:
    """How many of a child's matmuls between weights (`<op>@w`) the original performs too: all
    of them, or none when the original has fewer (then they merged layers)."""
    merged = sum(1 for op in ops if op.endswith(WEIGHT_SUFFIX))
    original = sum(1 for op in orig_ops if op.endswith(WEIGHT_SUFFIX))
    return merged if merged and original >= merged else 0


def _combines_weights_as_original(ops: list[str], orig_ops: list[str]) -> bool:
    """Whether a kernel is one op plus matmuls between weights (`<op>@w`) that the original
    performs too (LoRA's `w + b @ a`): then the combined weight is the model's own, not two
    layers merged into one kernel by the step."""
    merged = _weights_combined_as_original(ops, orig_ops)  # only weight-only anchors carry `@w`
    return merged > 0 and len(ops) - merged == 1


def _op_coverage_violations(orig_ops: list[str], trials: list[dict[str, Any]]) -> list[Violation]:
    """op_missing for each compute-op family of the original that no child call performs."""
    child_ops = [op for trial in trials for call in trial.get("calls", []) for op in call["ops"]]
    if not orig_ops or not any(trial.get("calls") for trial in trials):
        return []  # no children ran (a crash, or nothing to decompose): other rules say so
    missing = missing_op_families(orig_ops, child_ops)
    return [Violation("op_missing", f"the original computes `{family}` ({', '.join(sorted(set(n for n in orig_ops if op_family(n) == family)))}) "
                      "and no child performs it, even by a known equivalent: an op whose effect "
                      "the inputs hide must still be computed", None, None, "numerics")
            for family in missing]


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
