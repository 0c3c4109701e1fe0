"""The shapes a step's child really receives and returns, from one run on the meta device.

`hdecomp merge` writes a new fusion whose inputs may be values the parent's plumbing computes
(a transpose, a scaled score): no header names their shapes. Running the step's refactored.py
on the meta device gives them exactly and costs no memory or arithmetic, whatever the model's
size. It runs in its own process (the tree's files import their children by bare module name,
which must not collide with another tree's in this process) and it only reports shapes: it
decides no verdict, and `hdecomp verify` judges the result like any other edit.

    python -m workflow.edit.probe STEP/refactored.py ATTR   ->   one JSON line on stdout
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

PROBE_TIMEOUT_S = 300.0


def describe(value: Any) -> Any:
    """A tensor as {shape, dtype}; a number as {value}; anything else as {type}."""
    if isinstance(value, torch.Tensor):
        return {"shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
    if isinstance(value, (bool, int, float)):
        return {"value": value}
    return {"type": type(value).__name__}


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _flat(item)]
    return [value]


def _run(refactored: Path, attr: str) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("hdecomp_probe_refactored", refactored)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    seen: dict[str, Any] = {}

    def hook(_mod: Any, args: tuple[Any, ...], output: Any) -> None:
        seen.setdefault("inputs", [describe(a) for a in args])
        seen.setdefault("outputs", [describe(o) for o in _flat(output)])

    real_load = torch.load

    def load_on_meta(*args: Any, **kwargs: Any) -> Any:
        # a sidecar of real buffers (rotary tables, masks) would mix devices with the meta run
        kwargs["map_location"] = "meta"
        return real_load(*args, **kwargs)

    torch.load = load_on_meta  # type: ignore[assignment]
    with torch.device("meta"), torch.no_grad():
        spec.loader.exec_module(module)
        model = module.RefactoredModel(*module.get_init_inputs())
        getattr(model, attr).register_forward_hook(hook)
        model(*module.get_inputs())
    if "inputs" not in seen:
        raise RuntimeError(f"self.{attr} was not called")
    return seen


def probe(refactored: Path, attr: str) -> dict[str, Any] | None:
    """{inputs, outputs} of child `attr` in one meta run of `refactored` (sidecars loaded onto
    meta too); None when the step does not run on meta (data-dependent shapes)."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        done = subprocess.run([sys.executable, "-m", "workflow.edit.probe", str(refactored), attr],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env,
                              cwd=refactored.parent)
    except subprocess.TimeoutExpired:
        return None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return None
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return result if isinstance(result, dict) and "inputs" in result else None


def main(argv: list[str]) -> int:
    """Entry point of the probe process."""
    try:
        result = _run(Path(argv[0]).resolve(), argv[1])
    except Exception as err:  # noqa: BLE001 - any failure means "no meta shapes"; the caller falls back
        print(f"probe failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
