"""The untrusted half of `hdecomp verify`'s own composition check.

    python -m workflow.compose_worker original JOB_DIR
    python -m workflow.compose_worker composed JOB_DIR

Each role runs in a child process of its own (started by `workflow.composition`), reads
`job.json` from JOB_DIR and writes tensors there with `torch.save`; the trusted process reads them back with `weights_only=True` and judges them itself. Nothing
here decides PASS or FAIL, and nothing the files print is read.

- `original`: import the root component file, build it under the spec's seed, save its tensors
  (by every name they are reachable under), the inputs and the outputs.
- `composed`: build the composed model from the tree: the root step's RefactoredModel, each
  child that has a step of its own replaced by that step's RefactoredModel, recursively, and
  each kernel replaced by its level-0 file's Model; weights flow down through every step's
  weight_map.json from the original's saved tensors; run it on the saved inputs; save outputs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
from pathlib import Path
from typing import Any

import torch

from hdecomp_ir.spec import BASE_SEED, REFACTORED_FILE, STEPS_DIR, WEIGHT_MAP_JSON
from tensors.collect import TensorMeta, collect_tensors
from verifier.runtime import isolation
from verifier.weights import plan_transfer


def _load(path: Path, name: str) -> Any:
    """Import `path` as module `name`, its folder first on sys.path (sibling imports); the
    modules it imported from the tree are dropped again, since every step has its own
    `children` files under the same module names."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved_path
        for mod in set(sys.modules) - saved_modules:
            if mod != "torch" and not mod.startswith(("torch.", "tensors", "hdecomp", "verifier")):
                sys.modules.pop(mod, None)


def flatten(value: Any) -> list[Any]:
    """The leaves of a (nested) tuple, list or dict output, in order."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in flatten(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in flatten(v)]
    return [value]


Weights = tuple[list[TensorMeta], dict[str, torch.Tensor]]


def _copy(source: Weights, target_model: torch.nn.Module, weight_map: dict[str, Any] | None,
          where: str) -> None:
    """Copy `source` tensors into `target_model` by the verifier's own transfer plan (weight
    map entries, then exact names, then module order and shape), so the composed model gets
    the weights each step was verified with, also where a kernel file names them differently
    (nn.GRU's `gru.weight_ih_l0` held as `gru_weight_ih_l0`)."""
    metas, tensors = source
    target_metas, targets = collect_tensors(target_model)
    lists = None if weight_map is None else {
        k: [v] if isinstance(v, str) else list(v) for k, v in weight_map.items()}
    plan = plan_transfer(metas, target_metas, lists, map_file=where)
    if plan.errors:
        raise ValueError(f"{where}: {plan.errors[0].message}")
    with torch.no_grad():
        for src, dsts in plan.assignments.items():
            for dst in dsts:
                targets[dst].copy_(tensors[src])


def _compose(out_dir: Path, tree: dict[str, Any], node_id: str, weights: Weights,
             used: list[str]) -> torch.nn.Module:
    """The composed model of one tree node, its tensors taken from `weights` (its parent's
    instance of it)."""
    node = tree["nodes"][node_id]
    step = node.get("step")
    if not step:
        if node.get("level") != "kernel":
            raise ValueError(f"tree node {node_id} ({node.get('path')}) is not a kernel and "
                             "names no step that decomposes it")
        path = out_dir / node["path"]
        module = _load(path, f"hdecomp_l0_{len(used)}")
        used.append(node["path"])
        kernel = module.Model(*module.get_init_inputs())
        _copy(weights, kernel, None, node["path"])
        return kernel
    step_dir = out_dir / STEPS_DIR / step
    module = _load(step_dir / REFACTORED_FILE, f"hdecomp_step_{len(used)}")
    used.append(f"{STEPS_DIR}/{step}/{REFACTORED_FILE}")
    model = module.RefactoredModel(*(module.get_init_inputs() if hasattr(module, "get_init_inputs") else []))
    wm_path = step_dir / WEIGHT_MAP_JSON
    _copy(weights, model, json.loads(wm_path.read_text()) if wm_path.is_file() else None,
          f"{STEPS_DIR}/{step}/{WEIGHT_MAP_JSON}")
    for child_id in node.get("children") or []:
        attr = child_id[len(node_id) + 1:] if child_id.startswith(node_id + ".") else child_id
        child = getattr(model, attr, None)
        if not isinstance(child, torch.nn.Module):
            raise ValueError(f"{STEPS_DIR}/{step}/{REFACTORED_FILE}: RefactoredModel has no child "
                             f"`{attr}` (tree node {child_id})")
        setattr(model, attr, _compose(out_dir, tree, child_id, collect_tensors(child), used))
    return model


def _seeded_inputs(module: Any) -> list[Any]:
    torch.manual_seed(BASE_SEED + 1)
    return list(module.get_inputs())


def run_original(job: dict[str, Any], job_dir: Path) -> dict[str, Any]:
    module = _load(Path(job["original"]), "hdecomp_composition_original")
    torch.manual_seed(BASE_SEED)
    model = module.Model(*module.get_init_inputs()).eval()
    inputs = _seeded_inputs(module)
    metas, tensors = collect_tensors(model)
    # Saved as they are, not cloned: a clone would hold the weights twice (a 2-layer gpt-oss-120b
    # is 14 GiB of them); torch.save writes a storage shared by several names once.
    torch.save({k: v.detach() for k, v in tensors.items()}, job_dir / "weights.pt")
    (job_dir / "weights.json").write_text(json.dumps([m.to_json() for m in metas]))
    torch.save([x.clone() if isinstance(x, torch.Tensor) else x for x in inputs], job_dir / "inputs.pt")
    with torch.no_grad():
        output = model(*inputs)
    torch.save(output, job_dir / "outputs.pt")
    return {}


def run_composed(job: dict[str, Any], job_dir: Path) -> dict[str, Any]:
    out_dir = Path(job["out_dir"])
    tree = json.loads(Path(job["tree"]).read_text())
    weights = ([TensorMeta.from_json(m) for m in json.loads((job_dir / "weights.json").read_text())],
               # Memory-mapped: the composed model gets its own copies, and the mapped pages
               # are the page cache's to drop, so the weights are not held twice in RAM.
               torch.load(job_dir / "weights.pt", weights_only=True, mmap=True))
    inputs = torch.load(job_dir / "inputs.pt", weights_only=True)
    if job.get("isolation") == isolation.NAMESPACE:
        # Everything this process needs of its own is read or imported by now; the component
        # files it loads next are untrusted, so from here it sees the decomposition read-only
        # without the model it is compared with (the parent's choice of what to hide), its job
        # folder, and nothing of the user's (no result key, no checkout, no network).

        root = Path(job["view_root"])
        root.mkdir()
        isolation.enter(isolation.View(
            refactored=None, children_dir=None, scratch=job_dir, root=root,
            read_only=(out_dir,), writable=(job_dir,),
            hidden=tuple(Path(p) for p in job.get("hidden", []))))
    used: list[str] = []
    torch.manual_seed(BASE_SEED)
    model = _compose(out_dir, tree, job["root"], weights, used).eval()
    with torch.no_grad():
        output = model(*inputs)
    torch.save(output, job_dir / "outputs.pt")
    return {"files": used}


def main(argv: list[str]) -> int:
    """Run one role; result.json holds {} or {"error": ...} (read only to explain a failure)."""
    role, job_dir = argv[0], Path(argv[1])
    job = json.loads((job_dir / "job.json").read_text())
    torch.set_num_threads(int(job.get("threads", 1)))
    runner = {"original": run_original, "composed": run_composed}[role]
    try:
        result = runner(job, job_dir)
    except BaseException as err:  # noqa: BLE001 - the component code may raise anything
        result = {"error": f"{type(err).__name__}: {str(err).strip()[:300]}",
                  "traceback": traceback.format_exc()[-2000:]}
    (job_dir / "result.json").write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
