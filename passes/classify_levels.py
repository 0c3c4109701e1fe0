"""classify_levels: decide the root's level from its kernel count.

Needs: kernels formed (form_kernels).
Guarantees: the root has the level of the specification's thresholds: one kernel is a kernel
(no decomposition), 2-5 a fusion, 6-15 a layer, more a model. A root that is a single kernel
takes that kernel's place (its children are dropped).
"""

from __future__ import annotations

from hdecomp_ir.ir import IR
from hdecomp_ir.spec import FUSION_MAX_OPS, LAYER_MAX_OPS, Level


def level_for_count(count: int) -> Level:
    """Level of a component with `count` kernels, by the specification's thresholds."""
    if count <= 1:
        return Level.KERNEL
    if count <= FUSION_MAX_OPS:
        return Level.FUSION
    if count <= LAYER_MAX_OPS:
        return Level.LAYER
    return Level.MODEL


def classify_levels(ir: IR) -> IR:
    """Set the root's level; a single-kernel model becomes that kernel."""
    kernels = list(ir.root.children)
    level = level_for_count(len(kernels))
    ir.root.level = level
    if level is Level.KERNEL and kernels:
        only = kernels[0]
        ir.root.children = []
        ir.root.label = only.label
        ir.root.origin = only.origin
        ir.root.module_class = only.module_class
        ir.root.notes.append(f"one kernel ({only.label}): nothing to decompose")
    return ir
