"""assign_names: file names by the specification's rules.

Needs: keys (dedup_workloads).
Guarantees: every component has a `name` (file stem); equal keys share a name; different keys
never share a name within a level folder. Kernels are named by workload
(`linear_768x3072_fp32`, `relu_fp32`, `conv2d_3x64_3x3_fp32`), fusions by the ops they chain and
their anchor, layers by their module class (or their ops), the root by the model file. Two
different workloads that the rules name alike are told apart by a short hash of their code, never
by `_2` suffixes.
"""

from __future__ import annotations

from collections import defaultdict

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.naming import group_stem, kernel_stem
from hdecomp_ir.spec import Level


def _base_name(ir: IR, comp: Component) -> str:
    if comp is ir.root and comp.level is not Level.KERNEL:
        return ir.model_name
    if comp.level is Level.KERNEL:
        return kernel_stem(ir, comp)
    return group_stem(ir, comp)


def assign_names(ir: IR) -> IR:
    """Name every component; disambiguate clashes by key."""
    by_name: dict[tuple[Level, str], set[str]] = defaultdict(set)
    base: dict[str, str] = {}
    for comp in ir.root.walk():
        if comp.key not in base:
            base[comp.key] = _base_name(ir, comp)
        by_name[(comp.level, base[comp.key])].add(comp.key)
    for comp in ir.root.walk():
        name = base[comp.key]
        if len(by_name[(comp.level, name)]) > 1 and comp is not ir.root:
            name = f"{name}_v{comp.key[:6]}"
        comp.name = name
    return ir
