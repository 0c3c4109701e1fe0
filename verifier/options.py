"""What to verify: StepOptions, resolved and validated into a ResolvedStep.

Every problem found here is bad input (`UserInputError`, exit 2): a missing file, an original
that does not parse or lacks Model/get_inputs, a malformed weight map, an impossible flag.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import NUM_TRIALS, WEIGHT_MAP_JSON, trial_distributions, trial_seeds
from verifier.step_files import judged_files, relative_name  # noqa: F401 - the engine's too


@dataclass
class StepOptions:
    """What to verify and how. Paths may be relative to the current directory."""

    original: Path
    refactored: Path
    output: Path | None = None
    weight_map: Path | None = None
    rtol: float | None = None
    atol: float | None = None
    trials: int = NUM_TRIALS
    device: str = "auto"
    timeout: float = 600.0
    children_dir: Path | None = None  # default: children/ next to refactored.py
    start_method: str = "forkserver"  # or "spawn": a fresh interpreter per worker
    check_memory: bool = True
    fingerprints: bool = True  # record intermediates to locate the first diverging child
    # torch threads in the workers. None: 1 on CPU, because multithreaded CPU GEMMs change their
    # partitioning under load and the original and the refactored run in different processes:
    # seen here as 1-2% of honest steps differing by ~1e-4 relative, above the fp32 tolerance.
    threads: int | None = None
    # Seed of the original's re-randomization. None: the StepVerifier's own random seed, so no
    # step can precompute the outputs it will be compared with. Recorded in the result JSON.
    reinit_seed: int | None = None
    # Seeds of the trials. None (the default): the StepVerifier's fresh ones (drawn from the
    # OS's CSPRNG, one set per StepVerifier so its original-run cache still works), recorded in
    # the result. Given: exactly these, one per trial (reproducible runs, tests).
    seeds: list[int] | None = None
    # An agent's fast iteration (`verify-step --quick`): one trial, every check as usual, and a
    # step that would pass is QUICK, which nothing counts as PASS.
    quick: bool = False
    # Called every few seconds while a worker runs, with {"worker": "original" | "refactored",
    # "phase": ..., "trial": ..., "seconds": ...} (workflow.progress prints it); None: silent.
    progress: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False, repr=False)


@dataclass
class ResolvedStep:
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
    distributions: list[str] = field(default_factory=list)
    seeds_given: bool = False


@dataclass
class OriginalRun:
    result: dict[str, Any]
    data_dir: Path
    outputs: list[Any] = field(default_factory=list)
    after: list[Any | None] = field(default_factory=list)
    fingerprints: list[dict[str, Any]] = field(default_factory=list)
    # Per trial: the original's outputs computed in float64 (fp16/bf16 originals only), else None.
    ref64: list[Any | None] = field(default_factory=list)
    nbytes: int = 0
    seconds: float = 0.0


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


def check_original_source(path: Path) -> None:
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


def resolve(opts: StepOptions) -> ResolvedStep:
    """Validate paths and inputs; every problem here is bad input (exit 2)."""
    original, refactored = Path(opts.original), Path(opts.refactored)
    for label, path in (("original", original), ("refactored", refactored)):
        if not path.is_file():
            raise UserInputError(f"{label} file not found", where=str(path))
    check_original_source(original)
    if opts.trials < 1:
        raise UserInputError(f"--trials must be at least 1, not {opts.trials}")
    if opts.quick and opts.trials != 1:
        raise UserInputError(f"--quick runs one trial, not {opts.trials}",
                             fix="leave --trials out with --quick")
    if opts.seeds is not None and (len(opts.seeds) != opts.trials or
                                   not all(isinstance(s, int) and s >= 0 for s in opts.seeds)):
        raise UserInputError(f"seeds {opts.seeds} must be {opts.trials} non-negative integers, "
                             "one per trial", fix="give one seed per trial, or none")
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
    files = judged_files(step_dir, original=original, refactored=refactored,
                         children_dir=children_dir, weight_map=map_path)
    # Placeholder seeds until the StepVerifier puts its fresh ones in (unless given).
    seeds = list(opts.seeds) if opts.seeds is not None else trial_seeds(opts.trials)
    return ResolvedStep(original.resolve(), refactored.resolve(), step_dir, children_dir.resolve(),
                        weight_map, map_path, resolve_device(opts.device), seeds, files,
                        trial_distributions(opts.trials), opts.seeds is not None)
