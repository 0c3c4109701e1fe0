"""The worker: the only code that imports and runs the model files, always in a child process.

A job is a directory holding `job.json`; the worker writes `events.jsonl` (where it is, so a
timeout can say where it stopped), tensors as `.pt` files and finally `result.json`. It never
returns a verdict; the judging process reads these files (JSON, and tensors with
`weights_only=True`) and decides.

Two roles:
- `original`: load the original, estimate memory on the meta device (and refuse early), build it,
  re-randomize its tensors with the verifier's seed, save that state, then per trial save the
  seeded inputs, run the forward on clones and save the outputs; record which tensors the forward
  reads, its random ops, its logical op count and (trial 0) fingerprints of intermediates.
- `refactored`: block imports of the verifier and the original, load refactored.py, build
  RefactoredModel, plan and apply the weight transfer, then run each trial under the guards and
  save outputs, the inputs as the forward left them, child op counts and child fingerprints
  (with the refactored.py line of each child call).
- `locate`: only for a step that failed on numerics; set up exactly as `refactored` (same view,
  same blocker, same transfer), then run trial 0 once more under a line tracer
  (`linetrace.LineTracer`) and save what each statement computed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

from frontend.opaque_ops import opaque_ops
from hdecomp_ir.spec import (BASE_SEED, DEFAULT_DISTRIBUTION, FP64_REF_DTYPES, HDECOMP_PACKAGES,
                             PROBE_SEED, REFACTORED_INIT_SEED, REINIT_SEED, WIDE_DISTRIBUTION,
                             WIDE_LOG10_MAX, WIDE_LOG10_MIN, WIDE_POSITIVE_DISTRIBUTION)
from verifier.runtime import memory as memory_mod
from verifier.runtime.isolation import VIEW_SCRATCH, VIEW_STEP, View, enter
from verifier.runtime.instrument import (CHILD, Frame, MemoryTracker, OpCounter, locate,
                                                OriginalRecorder, RefactoredGuard, Scope,
                                                attach_hooks, fingerprint, frame_for, leaves_of,
                                                module_file, storage_key)
from verifier.runtime.linetrace import LineTracer, caller_line
from verifier.judge.numerics import same_values
from verifier.weights import TensorMeta, collect_tensors, plan_transfer, reinitialize


class UnsupportedOutput(TypeError):
    """An output leaf the verifier cannot carry back (not a tensor, number, string or None)."""


class _Events:
    # One append-only descriptor opened up front: it still works after the refactored worker
    # has entered its isolated view, where the job directory no longer exists.
    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / "events.jsonl"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.t0 = time.monotonic()

    def __call__(self, phase: str, **data: Any) -> None:
        line = json.dumps({"phase": phase, "t": round(time.monotonic() - self.t0, 4), **data})
        os.write(self.fd, (line + "\n").encode())


def main(job_dir: str) -> int:
    """Entry point in the child process; returns the exit code."""
    job_path = Path(job_dir)
    job = json.loads((job_path / "job.json").read_text())
    events = _Events(job_path)
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    if str(job.get("device", "cpu")).startswith("cuda"):
        # Full fp32 and the same algorithms in both workers: the original and the refactored
        # run in different processes, so nothing may depend on autotuning or TF32.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    runner = run_original if job["role"] == "original" else run_refactored
    try:
        result = runner(job, job_path, events)
    except BaseException as err:  # noqa: BLE001 - the untrusted code may raise anything, even SystemExit
        result = {"error": _describe(err, job, "internal")}
    # The refactored worker writes into its out/ scratch (all its view can reach); see run_refactored.
    _write_json(Path(job.get("result_dir", job_path)) / "result.json", result)
    return 0


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, default=str))
    tmp.replace(path)


def _describe(err: BaseException, job: dict[str, Any], stage: str) -> dict[str, Any]:
    """Exception -> {stage, type, message, file, line} with the location inside the step files."""
    roots = [Path(p).resolve() for p in job.get("roots", [])]
    file, line, code = locate(traceback.extract_tb(err.__traceback__), roots)
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    tail = "".join(traceback.format_exception(type(err), err, err.__traceback__)[-6:])
    return {"stage": stage, "type": type(err).__name__, "message": message[:500], "file": file,
            "line": line, "code": code, "traceback": tail[-3000:]}


def load_module(path: Path, name: str) -> Any:
    """Import a file as module `name` (its directory first on sys.path for sibling imports)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def to_cpu(value: Any) -> Any:
    """A detached CPU copy of an output tree that torch.load(weights_only=True) can read back."""
    if isinstance(value, torch.Tensor):
        data = value.detach().to("cpu")
        if data.untyped_storage().nbytes() != data.numel() * data.element_size() or \
                not data.is_contiguous() or data is value:
            data = data.clone(memory_format=torch.contiguous_format)
        return data if type(data) is torch.Tensor else torch.Tensor(data)
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, tuple):
        return tuple(to_cpu(v) for v in value)
    if isinstance(value, list):
        return [to_cpu(v) for v in value]
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str, torch.dtype)):
        return value
    raise UnsupportedOutput(f"cannot carry an output of type {type(value).__name__}")


def to_device(value: Any, device: str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)


def _param_keys(metas: list[TensorMeta], tensors: dict[str, torch.Tensor],
                kinds: tuple[str, ...]) -> dict[int, str]:
    keys = {}
    for meta in metas:
        if meta.kind in kinds:
            key = storage_key(tensors[meta.name])
            if key is not None:
                keys[key] = meta.name
    return keys


# ---------------------------------------------------------------------------------------------
# Role: original


def estimate_memory(model_cls: Any, init: list[Any], get_inputs: Callable[[], Any],
                    seed: int) -> memory_mod.MemoryEstimate:
    """Build and run the original on the meta device; measure bytes."""
    with torch.device("meta"):
        torch.manual_seed(seed)
        model = model_cls(*init)
        inputs = list(get_inputs())
    params = sum(t.numel() * t.element_size() for t in
                 list(model.parameters()) + list(model.buffers()))
    in_bytes = sum(t.numel() * t.element_size() for t in leaves_of(inputs))
    # The float64 twin of a half-precision original is four times its bytes (run_original).
    scale = 4.0 if _needs_fp64_reference(model, inputs) else 0.0
    tracker = MemoryTracker()
    try:
        # Recurrent builtins step fake tensors through every time step on meta; their shapes
        # alone do.
        with torch.no_grad(), opaque_ops(), tracker:
            out = model.eval()(*inputs)
    except Exception as err:  # noqa: BLE001 - data-dependent shapes (MoE routing) need values
        # The weights alone are still known: a lower bound that refuses what cannot fit.
        return memory_mod.MemoryEstimate(params, in_bytes, 0, 0, scale,
                                         forward_unknown=f"{type(err).__name__}: {str(err)[:160]}")
    out_bytes = sum(t.numel() * t.element_size() for t in leaves_of(out))
    return memory_mod.MemoryEstimate(params, in_bytes, out_bytes, max(tracker.peak, out_bytes),
                                     scale)


def trial_inputs(get_inputs: Callable[[], Any], seed: int, distribution: str) -> list[Any]:
    """get_inputs() under `seed`, on CPU, with its floating tensors redrawn for a wide trial.

    `wide`: each floating element becomes sign * 10**u, sign and u drawn from a generator seeded
    by `seed` (u uniform in [WIDE_LOG10_MIN, WIDE_LOG10_MAX]); `wide_positive`: the same scale
    with the sign of the default value (inputs that must stay positive stay positive). Shape,
    dtype and integer inputs (token ids, indices) are kept.
    """
    _seed_everything(seed)
    inputs = get_inputs()
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"get_inputs() returned {type(inputs).__name__}, not a list")
    pristine = to_cpu(list(inputs))
    if distribution == DEFAULT_DISTRIBUTION:
        return pristine
    gen = torch.Generator().manual_seed(seed)

    def redraw(t: torch.Tensor) -> torch.Tensor:
        if not t.is_floating_point() or t.numel() == 0:
            return t
        u = torch.rand(t.shape, generator=gen, dtype=torch.float64)
        scale = torch.pow(10.0, WIDE_LOG10_MIN + (WIDE_LOG10_MAX - WIDE_LOG10_MIN) * u)
        if distribution == WIDE_DISTRIBUTION:
            sign = torch.where(torch.rand(t.shape, generator=gen) < 0.5, -1.0, 1.0).double()
        else:
            # The default value's sign (zeros stay positive): log/sqrt inputs stay in domain.
            sign = torch.where(t.double() < 0, -1.0, 1.0)
        return (sign * scale).to(t.dtype)

    return [redraw(v) if isinstance(v, torch.Tensor) else v for v in pristine]


def _nonfinite(output: Any) -> bool:
    """True when a floating output leaf holds NaN or Inf."""
    return any(t.is_floating_point() and not bool(torch.isfinite(t).all())
               for t in leaves_of(output) if isinstance(t, torch.Tensor))


def _needs_fp64_reference(model: torch.nn.Module, inputs: list[Any]) -> bool:
    """fp16/bf16 originals (by their floating inputs or weights) get a float64 reference run."""
    tensors = [t for t in leaves_of(inputs) if isinstance(t, torch.Tensor)]
    tensors += list(model.parameters()) + list(model.buffers())
    return any(t.dtype in FP64_REF_DTYPES for t in tensors)


def _to_dtype(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_dtype(v, dtype) for v in value)
    return value


def _run_reference(model: torch.nn.Module, hooks: list[Any], dtype: torch.dtype,
                   seeds: list[int], device: str, out_dir: Path) -> str | None:
    """The reference run of a half-precision original, once its own trials are recorded: the
    same model converted in place to `dtype` (no twin beside it: a 2-layer Mixtral's float64 copy
    alone would not fit), on each trial's pristine inputs (saved beside it) under its seed.
    Returns the dtype's name, or None when the model cannot run in it (then the tolerance table
    alone decides)."""
    for handle in hooks:
        handle.remove()  # the recording is over; the reference run is not judged as a call
    try:
        model.to(dtype)
        for index, seed in enumerate(seeds):
            pristine = torch.load(out_dir / f"inputs_{index}.pt", weights_only=True)
            with torch.no_grad():
                _seed_everything(seed)
                reference = to_cpu(model(*_to_dtype(to_device(pristine, device), dtype)))
            torch.save(reference, out_dir / f"orig_ref64_{index}.pt")
    except BaseException:  # noqa: BLE001 - a model fixed to its dtype: no reference
        for index in range(len(seeds)):
            (out_dir / f"orig_ref64_{index}.pt").unlink(missing_ok=True)
        return None
    return str(dtype).replace("torch.", "")


def run_original(job: dict[str, Any], job_dir: Path, events: _Events) -> dict[str, Any]:
    device = job["device"]
    path = Path(job["original"])
    out_dir = Path(job["data_dir"])
    events("load")
    try:
        module = load_module(path, "hdecomp_original")
        model_cls = getattr(module, "Model")
        get_inputs = getattr(module, "get_inputs")
        get_init = getattr(module, "get_init_inputs", lambda: [])
        init = list(get_init())
    except BaseException as err:  # noqa: BLE001
        return {"error": _describe(err, job, "load")}

    result: dict[str, Any] = {"memory": None}
    if job.get("check_memory", True):
        events("memory")
        try:
            estimate = estimate_memory(model_cls, init, get_inputs, job["seeds"][0])
        except Exception as err:  # noqa: BLE001 - some models cannot run on meta (.item(), data-dependent shapes)
            result["memory"] = {"estimate_failed": f"{type(err).__name__}: {str(err)[:200]}"}
        else:
            fits, message, record = memory_mod.check(estimate, len(job["seeds"]), device)
            result["memory"] = record
            if not fits:
                result["refused"] = message
                return result

    events("construct")
    try:
        _seed_everything(BASE_SEED)
        model = model_cls(*init)
        metas, tensors = collect_tensors(model)
        kept = reinitialize(metas, tensors, job.get("reinit_seed", REINIT_SEED))
    except BaseException as err:  # noqa: BLE001
        return {"error": _describe(err, job, "construct")}
    torch.save({m.name: tensors[m.name].detach().to("cpu").clone() for m in metas},
               out_dir / "state.pt")
    try:
        torch.save(to_cpu(init), out_dir / "init_inputs.pt")
    except (UnsupportedOutput, Exception):  # noqa: BLE001 - the refactored usually has its own
        pass
    model = model.to(device).eval()
    # fp16/bf16 originals get a reference run after their trials, in the dtype the memory check
    # chose (float64 unless only float32 fits).
    reference_dtype: torch.dtype | None = None
    try:
        if _needs_fp64_reference(model, trial_inputs(get_inputs, job["seeds"][0], DEFAULT_DISTRIBUTION)):
            chosen = (result["memory"] or {}).get("reference_dtype") or "float64"
            reference_dtype = getattr(torch, chosen)
    except BaseException:  # noqa: BLE001 - no reference: the tolerance table alone decides
        reference_dtype = None
    metas, tensors = collect_tensors(model)
    scope = Scope()
    scope.param_keys = set(_param_keys(metas, tensors, ("param",)))
    scope.weight_keys = set(_param_keys(metas, tensors, ("param", "buffer")))
    hooks = attach_hooks(model, scope,
                         lambda name, mod, inside: frame_for(name, mod, True) if name else None)
    trial_seeds: list[int] = []
    recorder = OriginalRecorder(scope, _param_keys(metas, tensors, ("param", "buffer")))
    counter = OpCounter(scope)
    trials = []
    fingerprints = None
    asked = job.get("distributions") or []
    default_nonfinite: bool | None = None
    for index, seed in enumerate(job["seeds"]):
        wanted = asked[index] if index < len(asked) else DEFAULT_DISTRIBUTION
        # A wide trial on which the original turns non-finite (log of a negative, exp of 100)
        # where the default one is finite falls back: sign-preserving, then the default.
        chain = [wanted] if wanted == DEFAULT_DISTRIBUTION else \
            [wanted, WIDE_POSITIVE_DISTRIBUTION, DEFAULT_DISTRIBUTION]
        tried: list[str] = []
        for distribution in chain:
            events("inputs", trial=index)
            try:
                pristine = trial_inputs(get_inputs, seed, distribution)
            except BaseException as err:  # noqa: BLE001
                return {"error": _describe(err, job, "inputs")}
            run_inputs = to_device([v.clone() if isinstance(v, torch.Tensor) else v
                                    for v in pristine], device)
            recorder.fingerprints = [] if index == 0 and job.get("fingerprints", True) else None
            events("forward", trial=index)
            _seed_everything(seed)
            root = Frame(CHILD, "<original>", type(model).__name__)
            t0 = time.monotonic()
            try:
                with torch.no_grad(), counter, recorder:
                    scope.push(root)
                    try:
                        output = model(*run_inputs)
                    finally:
                        scope.pop(root, None)
                output = to_cpu(output)
            except BaseException as err:  # noqa: BLE001
                if distribution != DEFAULT_DISTRIBUTION:
                    tried.append(f"{distribution} ({type(err).__name__})")
                    continue  # the model refuses such values: try the next distribution
                return {"error": _describe(err, job, "forward")}
            forward_s = time.monotonic() - t0
            if distribution == DEFAULT_DISTRIBUTION or default_nonfinite or not _nonfinite(output):
                break
            tried.append(f"{distribution} (non-finite output)")
        if index == 0:
            default_nonfinite = _nonfinite(output)
        torch.save(pristine, out_dir / f"inputs_{index}.pt")
        torch.save(output, out_dir / f"orig_out_{index}.pt")
        trial_seeds.append(seed)
        after = to_cpu(run_inputs)
        mutated = [not same_values(a, b) for a, b in zip(pristine, after)]
        if any(mutated):
            torch.save(after, out_dir / f"orig_after_{index}.pt")
        if recorder.fingerprints is not None:
            fingerprints = recorder.fingerprints
        trials.append({"seed": seed, "mutated": mutated, "forward_s": forward_s,
                       "distribution": distribution, "distribution_fallbacks": tried})
    if fingerprints is not None:
        torch.save(fingerprints, out_dir / "orig_fp.pt")
    first = scope.calls[0] if scope.calls else None
    if reference_dtype is not None:
        del tensors  # its references would keep the half-precision storage alive
        result["reference_dtype"] = _run_reference(model, hooks, reference_dtype, trial_seeds,
                                                   device, out_dir)
    result.update({
        "metas": [m.to_json() for m in metas],
        "used": sorted(recorder.used),
        "kept": kept,
        "random_ops": sorted(set(recorder.random_ops)),
        "ops": first.ops if first else [],
        "trials": trials,
        "input_dtypes": [str(t.dtype).replace("torch.", "") for t in leaves_of(pristine)],
    })
    return result


# ---------------------------------------------------------------------------------------------
# Role: refactored (untrusted)


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses the verifier's package, the original file and step files outside children/."""

    def __init__(self, original: Path, refactored: Path, step_dir: Path, children: Path) -> None:
        self.original = original.resolve()
        self.refactored = refactored.resolve()
        self.step_dir = step_dir.resolve()
        self.children = children.resolve()
        self.blocked: list[str] = []

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name.split(".")[0] in HDECOMP_PACKAGES:
            return self._refuse(name, "the verifier")
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        origin = getattr(spec, "origin", None)
        if not origin or origin in ("built-in", "frozen"):
            return None
        where = Path(origin).resolve()
        if where == self.original:
            return self._refuse(name, "the original model")
        inside_step = self.step_dir in where.parents
        inside_children = self.children == where.parent or self.children in where.parents
        if inside_step and not inside_children and where != self.refactored:
            return self._refuse(name, "a step file outside children/")
        return None

    def _refuse(self, name: str, what: str) -> Any:
        self.blocked.append(f"{name} ({what})")
        raise ImportError(f"import of {name} is blocked by the verifier: it is {what}")


def _purge_verifier_modules() -> None:
    """Drop the verifier from sys.modules so untrusted code cannot reach it by import."""
    for name in list(sys.modules):
        if name.split(".")[0] in HDECOMP_PACKAGES:
            del sys.modules[name]


def run_refactored(job: dict[str, Any], job_dir: Path, events: _Events) -> dict[str, Any]:
    device = job["device"]
    refactored = Path(job["refactored"])
    step_dir = Path(job["step_dir"])
    children_dir = Path(job["children_dir"])
    data_dir = Path(job["data_dir"])
    # Everything the trusted side needs from the job directory is read now, before any step file
    # is imported: tensors memory-mapped (no copy; the mapping outlives the view change).
    init_file = data_dir / "init_inputs.pt"
    saved_init = torch.load(init_file, weights_only=True) if init_file.exists() else None
    state = torch.load(data_dir / "state.pt", weights_only=True, mmap=True)
    all_inputs = [torch.load(data_dir / f"inputs_{i}.pt", weights_only=True, mmap=True)
                  for i in range(len(job["seeds"]))]
    out_dir = job_dir / "out"  # the only writable place; the parent collects from here
    out_dir.mkdir(exist_ok=True)
    isolation = job.get("isolation", "process")
    if isolation == "namespace":
        view = View(refactored, children_dir, out_dir, job_dir / "view")
        enter(view, keep_fds={events.fd})
        # Paths as the isolated process sees them: error locations and child classification
        # still name `refactored.py:LINE` and `children/x.py:LINE`.
        refactored, step_dir = VIEW_STEP / "refactored.py", VIEW_STEP
        children_dir, out_dir = VIEW_STEP / "children", VIEW_SCRATCH
        job["roots"] = [str(VIEW_STEP)]
        job["step_dir"] = str(VIEW_STEP)
    job["result_dir"] = str(out_dir)
    blocker = ImportBlocker(Path(job["original"]), refactored, step_dir, children_dir)
    sys.meta_path.insert(0, blocker)
    _purge_verifier_modules()
    sys.path.insert(0, str(step_dir))
    scratch = out_dir / "cwd"
    scratch.mkdir(exist_ok=True)
    os.chdir(scratch)  # stray relative writes land in a scratch directory, not among our files
    # Bytecode is read from and written to a private prefix only: a __pycache__ entry beside a
    # step file (left by `python refactored.py`, or forged) never runs instead of its source.
    sys.pycache_prefix = str(scratch / "pycache")
    result: dict[str, Any] = {"blocked_imports": blocker.blocked, "isolation": isolation}

    events("load")
    try:
        module = load_module(refactored, "refactored")
        model_cls = getattr(module, "RefactoredModel")
        if hasattr(module, "get_init_inputs"):
            init = list(module.get_init_inputs())
        elif saved_init is not None:
            init = list(saved_init)
        else:
            raise FileNotFoundError("refactored.py has no get_init_inputs() and the original's "
                                    "init inputs could not be saved")
        events("construct")
        _seed_everything(REFACTORED_INIT_SEED)
        model = model_cls(*init)
    except BaseException as err:  # noqa: BLE001
        result["error"] = _describe(err, job, "load")
        return result

    metas, tensors = collect_tensors(model)
    orig_metas = [TensorMeta.from_json(m) for m in job["orig_metas"]]
    plan = plan_transfer(orig_metas, metas, job.get("weight_map"), map_file=job.get("map_file", ""),
                         used_original=job.get("used_original"))
    result["metas"] = [m.to_json() for m in metas]
    result["plan"] = plan.to_json()
    if plan.errors:
        return result
    result["random_buffers"] = _probe_random_buffers(model_cls, init, metas, tensors, plan)

    events("transfer")
    with torch.no_grad():
        for orig_name, ref_names in plan.assignments.items():
            for ref_name in ref_names:
                tensors[ref_name].copy_(state[orig_name])
    del state
    model = model.to(device).eval()
    metas, tensors = collect_tensors(model)

    children = {str((step_dir / rel).resolve()): info for rel, info in job["children"].items()}
    refactored_path = str(refactored.resolve())

    def classify(name: str, mod: torch.nn.Module, inside: bool) -> Frame | None:
        if not inside:
            path = module_file(mod)
            if path in children:
                info = children[path]
                return Frame(CHILD, name or "<root>", type(mod).__name__, info["file"],
                             info["level"])
            return None
        return frame_for(name, mod, True)

    scope = Scope()
    param_keys = _param_keys(metas, tensors, ("param",))
    scope.param_keys = set(param_keys)
    scope.weight_keys = set(_param_keys(metas, tensors, ("param", "buffer")))
    attach_hooks(model, scope, classify)
    roots = [Path(p).resolve() for p in job["roots"]]
    guard = RefactoredGuard(scope, param_keys, roots)
    counter = OpCounter(scope, on_escape=lambda name: guard.report(
        "escape_to_python", name, f"`.{name}()` outside a child takes tensor values out of torch, "
        "where the verifier cannot see what is computed"), on_child_escape=lambda name: guard.report(
        "escape_to_python", name, f"`.{name}()` inside a child takes activation values out of "
        "torch, where no op is counted: compute on tensors (a kernel is one op of torch)"))
    if job["role"] == "locate":
        step_files = {path: info["file"] for path, info in children.items()}
        step_files[refactored_path] = "refactored.py"
        result.update(_locate(job, model, scope, step_files, refactored_path, all_inputs[0],
                              out_dir, events))
        return result
    child_fps: list[dict[str, Any]] = []
    is_refactored: dict[str, bool] = {}
    trials = []
    for index, seed in enumerate(job["seeds"]):
        # A copy: the mapped file must not be written through, and untrusted code gets its own.
        run_inputs = to_device([v.clone() if isinstance(v, torch.Tensor) else v
                                for v in all_inputs[index]], device)
        if index == 0 and job.get("fingerprints", True):
            def on_exit(frame: Frame, output: Any) -> None:
                # The call site: the refactored.py statement this child's hook returns to.
                child_fps.append({"child": frame.name, "file": frame.file,
                                  "line": caller_line(refactored_path, is_refactored),
                                  "outputs": [fp for fp in map(fingerprint, leaves_of(output))
                                              if fp is not None]})
            scope.on_child_exit = on_exit
        else:
            scope.on_child_exit = None
        calls_before = len(scope.calls)
        events("forward", trial=index)
        _seed_everything(seed)
        t0 = time.monotonic()
        try:
            with torch.no_grad(), counter, guard:
                output = model(*run_inputs)
            output = to_cpu(output)
        except BaseException as err:  # noqa: BLE001
            result["error"] = _describe(err, job, "forward")
            result["trial"] = index
            break
        forward_s = time.monotonic() - t0
        training = [name or "<root>" for name, mod in model.named_modules() if mod.training]
        torch.save(output, out_dir / f"ref_out_{index}.pt")
        torch.save(to_cpu(run_inputs), out_dir / f"ref_after_{index}.pt")
        trials.append({"seed": seed, "forward_s": forward_s, "training": training,
                       "calls": [c.to_json() for c in scope.calls[calls_before:]]})
    if child_fps:
        torch.save(child_fps, out_dir / "ref_fp.pt")
    result.update({
        "violations": list(guard.violations.values()),
        "random_ops": sorted(set(guard.random_ops)),
        "trials": trials,
        "blocked_imports": blocker.blocked,
    })
    return result


def _locate(job: dict[str, Any], model: torch.nn.Module, scope: Scope, step_files: dict[str, str],
            refactored_path: str, inputs: list[Any], out_dir: Path,
            events: _Events) -> dict[str, Any]:
    """Trial 0 again under the line tracer, without the guards (they judged this step already):
    saves `locate.pt`, what each statement of the step's files computed."""
    run_inputs = to_device([v.clone() if isinstance(v, torch.Tensor) else v for v in inputs],
                           job["device"])
    target = job.get("locate_call")
    tracer = LineTracer(scope, step_files, refactored_path,
                        target if isinstance(target, int) else None)
    events("forward", trial=0)
    _seed_everything(job["seeds"][0])
    try:
        with torch.no_grad(), tracer:
            model(*run_inputs)
    except BaseException as err:  # noqa: BLE001 - what was recorded up to the error still helps
        torch.save(tracer.to_json(), out_dir / "locate.pt")
        return {"error": _describe(err, job, "forward"), "trial": 0}
    torch.save(tracer.to_json(), out_dir / "locate.pt")
    return {"located": True}


def _probe_random_buffers(model_cls: Any, init: list[Any], metas: list[TensorMeta],
                          tensors: dict[str, torch.Tensor], plan: Any) -> list[str]:
    """Unmapped floating buffers whose value depends on the RNG (built again, other seed)."""
    suspects = [m for m in metas if m.name in plan.unmapped_refactored and m.kind == "buffer"
                and m.floating]
    if not suspects:
        return []
    _seed_everything(PROBE_SEED)
    again = model_cls(*init)
    _metas2, tensors2 = collect_tensors(again)
    random_names = []
    for meta in suspects:
        other = tensors2.get(meta.name)
        if other is None or not same_values(tensors[meta.name].detach(), other.detach()):
            random_names.append(meta.name)
    return random_names


def warm_up() -> None:
    """Pay the lazy imports of the instruments once, in the fork server, before any fork.

    Only meta-device tensors and tiny CPU tensors are touched, so no thread pool starts in the
    server (a pool must not exist at fork time).
    """
    import io

    class _Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)
            self.norm = torch.nn.LayerNorm(4)
            self.conv = torch.nn.Conv1d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.norm(self.lin(x)).softmax(-1)
            z = y @ x.transpose(-1, -2)
            return self.conv(y.transpose(1, 2)).relu() * 2 + z.mean()

    estimate_memory(_Tiny, [], lambda: [torch.randn(2, 3, 4)], BASE_SEED)
    with torch.device("meta"):
        model = _Tiny()
    scope = Scope()
    attach_hooks(model, scope, lambda name, mod, inside: frame_for(name, mod, True) if name else None)
    guard = RefactoredGuard(scope, {}, [])
    with torch.no_grad(), OpCounter(scope), guard, OriginalRecorder(scope, {}):
        model(torch.empty(2, 3, 4, device="meta"))
    # Half-precision casts initialise cpuinfo, which reads /proc and /sys: do it here, before
    # any worker enters its namespace (where those are absent and fp16 steps would crash).
    torch.zeros(2).to(torch.float16).to(torch.bfloat16).float()
    buffer = io.BytesIO()
    torch.save({"x": torch.zeros(2), "y": [1, None]}, buffer)
    buffer.seek(0)
    torch.load(buffer, weights_only=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
