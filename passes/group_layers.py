"""group_layers: cut a model-level root into layers.

Needs: kernels formed; root classified as MODEL.
Guarantees: the root's children are layers (6-15 kernels where the model allows it) and single
kernels, each over a contiguous range; a layer never splits a fusion chain or a module call.

Rules:
- The module hierarchy comes first: a module call with at most 15 kernels and more than one is a
  layer (a transformer block, a ResNet block); a larger one is opened and its parts considered,
  and so is one that holds two or more layer-sized calls of one class (a ResNet stage of two
  BasicBlocks: the repeated block is the layer).
- Runs of loose kernels and small module calls between them (a flat nn.Sequential, a stem, a
  head) are cut at natural boundaries: after pooling or downsampling, then into balanced pieces of
  at most 15 kernels, never inside a fusion chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.naming import kernel_op_label
from hdecomp_ir.spec import LAYER_MAX_OPS, Level
from passes.group_fusions import fusion_groups

_BOUNDARY_WORDS = ("pool", "downsample", "upsample", "interpolate")
# the specification's smallest layer: fewer kernels are a fusion's worth
_MIN_LAYER_KERNELS = 6


@dataclass
class _Call:
    """A module call in the call tree, with its kernels and sub-calls in execution order."""

    key: str
    path: str
    qual: str
    items: list["_Call | Component"] = field(default_factory=list)

    def kernels(self) -> list[Component]:
        out: list[Component] = []
        for item in self.items:
            out.extend(item.kernels() if isinstance(item, _Call) else [item])
        return out


def _call_tree(ir: IR) -> _Call:
    root = _Call(key="", path="", qual=ir.class_name)
    calls: dict[str, _Call] = {}
    for kernel in ir.root.children:
        # Where the kernel's own work ran: its leading ops may be private copies of weight-only
        # plumbing written elsewhere (a learned query expanded in the parent).
        ops = ir.ops[kernel.start:kernel.end + 1]
        stack = ir.module_stack(next((n for n in ops if n not in ir.weight_derived), ops[0]))
        # The kernel's own module (and anything deeper) is the kernel, not structure around it.
        if kernel.origin not in ("kernel-op", "kernel-pattern"):
            while stack and stack[-1][1] != kernel.module_path:
                stack.pop()
            if stack:
                stack.pop()
        parent = root
        for key, path, qual in stack:
            if not path:  # the model itself
                continue
            call = calls.get(key)
            if call is None:
                call = calls[key] = _Call(key=key, path=path, qual=qual)
                parent.items.append(call)
            parent = call
        parent.items.append(kernel)
    return root


def _call_ranges(ir: IR) -> dict[str, tuple[int, int]]:
    """First and last op position of every module call, in one pass over the ops."""
    ranges: dict[str, tuple[int, int]] = {}
    for i, node in enumerate(ir.ops):
        if node in ir.weight_derived:
            # a private copy of weight-only plumbing sits where its consumer is, not where the
            # module that wrote it ran
            continue
        for key, _, _ in ir.module_stack(node):
            start, _ = ranges.get(key, (i, i))
            ranges[key] = (start, i)
    return ranges


def _unit_range(ranges: dict[str, tuple[int, int]],
                unit: "_Call | Component") -> tuple[int, int]:
    return ranges[unit.key] if isinstance(unit, _Call) else (unit.start, unit.end)


def _is_boundary(unit: "_Call | Component") -> bool:
    kernels = unit.kernels() if isinstance(unit, _Call) else [unit]
    label = kernels[-1].label.lower() if kernels else ""
    return any(w in label for w in _BOUNDARY_WORDS)


def _chunk_run(ir: IR, run: list["_Call | Component"]) -> list[list["_Call | Component"]]:
    """Cut a run of units at pooling boundaries, then into balanced pieces of <= 15 kernels."""
    # Atoms: a sub-call stays whole; loose kernels stay with their fusion chain.
    atoms: list[list[_Call | Component]] = []
    loose: list[Component] = []

    def flush_loose() -> None:
        for group in fusion_groups(ir, loose):
            atoms.append(list(group))
        loose.clear()

    for unit in run:
        if isinstance(unit, _Call):
            flush_loose()
            atoms.append([unit])
        else:
            loose.append(unit)
    flush_loose()

    segments: list[list[list[_Call | Component]]] = [[]]
    for atom in atoms:
        segments[-1].append(atom)
        if _is_boundary(atom[-1]):
            segments.append([])
    pieces: list[list[_Call | Component]] = []
    for seg in segments:
        if not seg:
            continue
        size = sum(_count(a) for a in seg)
        parts = max(1, math.ceil(size / LAYER_MAX_OPS))
        target = size / parts
        current: list[_Call | Component] = []
        acc = 0
        for atom in seg:
            n = _count(atom)
            if current and (acc + n > LAYER_MAX_OPS or (acc >= target and len(pieces) < parts)):
                pieces.append(current)
                current, acc = [], 0
            current.extend(atom)
            acc += n
        if current:
            pieces.append(current)
    return pieces


def _count(atom: list["_Call | Component"]) -> int:
    return sum(len(u.kernels()) if isinstance(u, _Call) else 1 for u in atom)


def _repeats_blocks(call: _Call) -> bool:
    """Whether a call holds two or more layer-sized calls of one class (a ResNet stage of
    BasicBlocks): the blocks are the layers then, not the stage."""
    classes = [item.qual for item in call.items
               if isinstance(item, _Call) and len(item.kernels()) >= _MIN_LAYER_KERNELS]
    return any(classes.count(q) >= 2 for q in set(classes))


def _layer_units(ir: IR, call: _Call) -> list[tuple[str, list["_Call | Component"]]]:
    """('module'|'chunk', units) groups for the items of a call too big to be one layer."""
    out: list[tuple[str, list[_Call | Component]]] = []
    run: list[_Call | Component] = []

    def flush() -> None:
        for piece in _chunk_run(ir, run):
            out.append(("chunk", piece))
        run.clear()

    for item in call.items:
        if isinstance(item, _Call):
            n = len(item.kernels())
            if n > LAYER_MAX_OPS or _repeats_blocks(item):
                flush()
                out.extend(_layer_units(ir, item))
                continue
            if n >= _MIN_LAYER_KERNELS:
                flush()
                out.append(("module", [item]))
                continue
        run.append(item)
    flush()
    return out


def group_layers(ir: IR) -> IR:
    """Replace the root's kernel children with layers (and the kernels left between them)."""
    if ir.root.level is not Level.MODEL:
        return ir
    tree = _call_tree(ir)
    call_ranges = _call_ranges(ir)
    children: list[Component] = []
    for kind, units in _layer_units(ir, tree):
        kernels = [k for u in units for k in (u.kernels() if isinstance(u, _Call) else [u])]
        if len(kernels) == 1 and kind == "chunk":
            children.append(kernels[0])
            continue
        # A call's range leaves out private weight copies, but a kernel's range starts at its
        # own (a module whose first op is weight-only plumbing, as SwinV2's q/v bias concat):
        # the layer covers both.
        ranges = [_unit_range(call_ranges, u) for u in units] + [(k.start, k.end) for k in kernels]
        start, end = min(r[0] for r in ranges), max(r[1] for r in ranges)
        if kind == "module":
            call = units[0]
            assert isinstance(call, _Call)
            cls = call.qual.rsplit(".", 1)[-1]
            layer = Component(cid=f"l{len(children)}", level=Level.LAYER, start=start, end=end,
                              label=cls, origin="layer-module", children=kernels,
                              module_path=call.path, module_class=call.qual)
        else:
            label = "_".join(dict.fromkeys(kernel_op_label(ir, k) for k in kernels))
            layer = Component(cid=f"l{len(children)}", level=Level.LAYER, start=start, end=end,
                              label=label, origin="layer-chunk", children=kernels)
        children.append(layer)
    children.sort(key=lambda c: c.start)
    ir.root.children = children
    return ir
