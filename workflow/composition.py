"""`hdecomp verify`'s own composition check: the model rebuilt from the tree vs the original.

verification/composition_test.py is a file in the decomposition, so anyone can edit it to print
PASS. This check never runs it. Two child processes (`workflow.compose_worker`) do the untrusted
work: one runs the root component file (the original, under the spec's seed) and saves its
tensors, inputs and outputs; the other builds the composed model from decomposition_tree.json,
every step's refactored.py and the level-0 files, with the original's tensors routed through
each step's weight_map.json, and saves its outputs on the same inputs. This process reads the
tensors back (`weights_only=True`) and compares them itself at the composition tolerance.
The original's outputs are read and deleted before the composed model runs, so code in the
tree cannot copy them into its own output file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hdecomp_ir.spec import (COMPOSITION_ATOL, COMPOSITION_RTOL, ORIGINAL_FILE, Level,
                             STEPS_DIR, TREE_JSON)
from verifier.runtime import isolation

COMPOSITION_TIMEOUT_S = 1800.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _run_role(role: str, job_dir: Path, job: dict[str, Any], timeout: float) -> str:
    """Run one worker role; '' when it exited cleanly without an error, else why not."""
    (job_dir / "job.json").write_text(json.dumps(job))
    try:
        proc = subprocess.run([sys.executable, "-m", "workflow.compose_worker", role, str(job_dir)],
                              cwd=str(job_dir), env=_env(), capture_output=True, text=True,
                              timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        return f"the {role} model timed out after {timeout:.0f}s"
    result_file = job_dir / "result.json"
    try:
        result = json.loads(result_file.read_text())
    except (OSError, json.JSONDecodeError):
        result = None
    if proc.returncode != 0 or not isinstance(result, dict):
        tail = (proc.stderr or "").strip().splitlines()
        if proc.returncode == -9:
            from verifier.runtime.memory import available_host_bytes, human

            host = available_host_bytes()
            return (f"the {role} model's process was killed (exit -9), probably out of memory"
                    + (f" ({human(host)} available now)" if host else "")
                    + "; run the composition on a larger machine")
        return f"the {role} model's process died (exit {proc.returncode}) {tail[-1] if tail else ''}".strip()
    if result.get("error"):
        return f"the {role} model raised {result['error']}"
    return ""


def _originals(out_dir: Path) -> list[Path]:
    """What the composed model must not see: every level above the kernels (the root model file
    and the layer/fusion files, each an implementation of what the steps decompose) and every
    step's original.py. It is built from level_0_kernel files and the steps' refactored files."""
    hidden = [d for d in sorted(out_dir.glob("level_*")) if d.is_dir() and d.name != Level.KERNEL.folder]
    hidden += sorted((out_dir / STEPS_DIR).glob(f"*/{ORIGINAL_FILE}"))
    return hidden


def check_composition(out_dir: Path, timeout: float = COMPOSITION_TIMEOUT_S) -> tuple[bool, str]:
    """(passed, detail): the composed model vs the original, judged in this process.

    The detail is `max_difference=...` when both ran (as the composition test prints it),
    else one line saying what failed.
    """
    import torch

    from tensors.compare import compare
    from workflow.layout import load_tree, root_id

    out_dir = Path(out_dir).resolve()
    tree = load_tree(out_dir)
    if tree is None:
        return False, f"{TREE_JSON} is missing or malformed"
    root = root_id(tree)
    node = tree["nodes"].get(root) if root else None
    if not isinstance(node, dict) or not isinstance(node.get("path"), str):
        return False, f"{TREE_JSON} names no root component file"
    original = out_dir / node["path"]
    if not original.is_file():
        return False, f"the root component file {node['path']} is missing"
    with tempfile.TemporaryDirectory(prefix="hdecomp-compose-") as tmp:
        orig_dir, comp_dir = Path(tmp) / "original", Path(tmp) / "composed"
        orig_dir.mkdir()
        comp_dir.mkdir()
        why = _run_role("original", orig_dir, {"original": str(original)}, timeout)
        if why:
            return False, why
        try:
            expected = torch.load(orig_dir / "outputs.pt", weights_only=True)
        except Exception as err:  # noqa: BLE001 - a file the worker wrote, of any shape
            return False, f"the original's outputs cannot be read: {type(err).__name__}"
        for name in ("weights.pt", "weights.json", "inputs.pt"):
            # moved, not copied: the weights of a large model are gigabytes
            (orig_dir / name).replace(comp_dir / name)
        shutil.rmtree(orig_dir)
        why = _run_role("composed", comp_dir, {"out_dir": str(out_dir), "tree": str(out_dir / TREE_JSON),
                                               "root": root, "isolation": isolation.mode(),
                                               "view_root": str(Path(tmp) / "view"),
                                               "hidden": [str(p) for p in _originals(out_dir)]},
                        timeout)
        if why:
            return False, why
        try:
            actual = torch.load(comp_dir / "outputs.pt", weights_only=True)
        except Exception as err:  # noqa: BLE001
            return False, f"the composed model's outputs cannot be read: {type(err).__name__}"
    diffs, mismatches = compare(expected, actual, COMPOSITION_RTOL, COMPOSITION_ATOL)
    if mismatches:
        return False, mismatches[0].message
    max_difference = max((d.max_abs for d in diffs), default=0.0)
    bad = [d for d in diffs if not d.passed]
    if bad:
        return False, (f"max_difference={max_difference:.3e} ({bad[0].path} differs beyond rtol "
                       f"{COMPOSITION_RTOL}, atol {COMPOSITION_ATOL})")
    return True, f"max_difference={max_difference:.3e}"
