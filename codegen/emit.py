"""The output tree of a decomposition, built in memory as {relative path: bytes}.

Writing it is the driver's job (into a temporary directory, moved into place when complete), so
codegen never touches the user's disk and the same tree can be compared byte for byte.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import torch

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.spec import (ANALYSIS_MD, COMPOSITION_TEST, DECOMPOSITION_LOG_JSON, STEPS_DIR, TREE_JSON,
                             VERIFICATION_DIR, WEIGHT_MAP_JSON, Level)
from codegen.files import (child_refs, component_module, composition_module, refactored_module,
                           root_module, sidecar_buffers, weight_map)
from codegen.reports import analysis_md, log_bytes, lower_log_entry, tree_json

_PLURAL = {Level.KERNEL: "kernels", Level.FUSION: "fusions", Level.LAYER: "layers"}


@dataclass
class StepPlan:
    """One emitted step: the directory and the component it decomposes."""

    name: str
    comp: Component


@dataclass
class Emitted:
    """Files of a decomposition and the steps among them."""

    files: dict[str, bytes] = field(default_factory=dict)
    steps: list[StepPlan] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)     # key -> component file path
    root_path: str = ""


def _save(tensors: dict[str, torch.Tensor]) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in sorted(tensors.items())}, buf)
    return buf.getvalue()


def emit(ir: IR, *, source: str, buffers: dict[str, torch.Tensor], source_level: str,
         timestamp: str, model_rel: str, status: str = "NOT_VERIFIED",
         passes: list[str] | None = None) -> Emitted:
    """Build every file of the decomposition.

    `model_rel` is the model file relative to the output directory: a model that is a single
    kernel has no root file of its own, so its composition test compares with the model file.
    `passes` names the passes that ran, for decomposition_log.json.
    """
    out = Emitted()
    first: dict[str, Component] = {}
    parent_of: dict[str, str] = {}
    for comp in ir.root.walk():
        first.setdefault(comp.key, comp)
        for child in comp.children:
            parent_of.setdefault(child.key, comp.name)

    decomposed = bool(ir.root.children)
    texts: dict[str, str] = {}
    sidecars: dict[str, dict[str, torch.Tensor]] = {}
    for key, comp in first.items():
        path = f"{comp.level.folder}/{comp.name}.py"
        out.paths[key] = path
        if comp is ir.root and decomposed:
            texts[key] = root_module(ir, source, buffers)
        else:
            texts[key] = component_module(ir, comp, parent=parent_of.get(key, "root"),
                                          buffers=buffers)
            sidecars[key] = sidecar_buffers(ir, comp, buffers)
        out.files[path] = texts[key].encode()
        if sidecars.get(key):
            out.files[path[:-3] + ".buffers.pt"] = _save(sidecars[key])
    out.root_path = out.paths[ir.root.key]

    # Steps: one per unique decomposed component, numbered by depth (1 = the root's step).
    depth: dict[str, int] = {}

    def visit(comp: Component, d: int) -> None:
        if comp.children and comp.key not in depth:
            depth[comp.key] = d
            below = Level(comp.level - 1)
            name = f"step_{d}_{comp.name}_to_{_PLURAL[below]}"
            out.steps.append(StepPlan(name, comp))
        for child in comp.children:
            visit(child, d + 1)

    visit(ir.root, 1)
    step_dirs: dict[str, str] = {}
    for plan in out.steps:
        comp = plan.comp
        base = f"{STEPS_DIR}/{plan.name}"
        step_dirs[comp.key] = plan.name
        refs = child_refs(ir, comp, comp.children)
        out.files[f"{base}/original.py"] = texts[comp.key].encode()
        if sidecars.get(comp.key):
            out.files[f"{base}/original.buffers.pt"] = _save(sidecars[comp.key])
        for ref in refs:
            child_path = f"{base}/children/{ref.comp.name}.py"
            out.files[child_path] = texts[ref.comp.key].encode()
            if sidecars.get(ref.comp.key):
                out.files[child_path[:-3] + ".buffers.pt"] = _save(sidecars[ref.comp.key])
        out.files[f"{base}/refactored.py"] = refactored_module(ir, comp, refs,
                                                               step=plan.name).encode()
        out.files[f"{base}/{WEIGHT_MAP_JSON}"] = _json(weight_map(ir, comp, refs))

    # The composition test rebuilds the whole model from kernels only.
    kernels = ir.kernels()
    refs = child_refs(ir, ir.root, kernels)
    comp_src = composition_module(ir, refs,
                                  original_rel=out.root_path if decomposed else model_rel,
                                  kernel_dir=Level.KERNEL.folder,
                                  wmap=weight_map(ir, ir.root, refs))
    out.files[f"{VERIFICATION_DIR}/{COMPOSITION_TEST}"] = comp_src.encode()

    ids = _instance_ids(ir)
    tree = tree_json(ir, ids=ids, paths=out.paths, steps=step_dirs, source_level=source_level,
                     timestamp=timestamp, status=status)
    out.files[TREE_JSON] = _json(tree)
    out.files[ANALYSIS_MD] = analysis_md(ir, paths=out.paths, steps=step_dirs).encode()
    out.files[DECOMPOSITION_LOG_JSON] = log_bytes([lower_log_entry(
        ir, paths=out.paths, steps=step_dirs, timestamp=timestamp, passes=passes or [])])
    return out


def _instance_ids(ir: IR) -> dict[int, str]:
    """Tree node ids: the parent's id, then the attribute its step's RefactoredModel holds the
    child under. One step serves every instance of a component, rendered from the first one
    (depth first, as the steps are planned); a later instance's own module paths can name its
    children differently (`network.4` where the step says `m_2`), so it takes the first
    instance's attribute names, child by child."""
    ids: dict[int, str] = {id(ir.root): "root"}
    attrs_of: dict[str, list[str]] = {}

    def visit(comp: Component) -> None:
        refs = child_refs(ir, comp, comp.children)
        attrs = attrs_of.setdefault(comp.key, [ref.attr for ref in refs])
        if len(attrs) != len(refs):
            attrs = [ref.attr for ref in refs]
        for ref, attr in zip(refs, attrs):
            ids[id(ref.comp)] = f"{ids[id(comp)]}.{attr}"
            visit(ref.comp)

    visit(ir.root)
    return ids


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode()
