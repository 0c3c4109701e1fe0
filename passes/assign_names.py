"""assign_names: file names by the specification's rules.

Needs: keys (dedup_workloads).
Guarantees: every component has a `name` (file stem); equal keys share a name; different keys
never share a name within a level folder. Kernels are named by workload
(`linear_768x3072_fp32`, `relu_fp32`, `conv2d_3x64_3x3_fp32`), fusions by the ops they chain and
their anchor, layers by their module class (or their ops), the root by the model file. Two
different workloads that the rules name alike are told apart by what differs (the anchor's
stride, `_s2`, or its input's spatial size, `_28x28`), else by a short hash of their code; never
by `_2` suffixes.
"""

from __future__ import annotations

from collections import defaultdict

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.naming import group_stem, kernel_stem, variant_details
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
    first: dict[str, Component] = {}
    for comp in ir.root.walk():
        first.setdefault(comp.key, comp)
    suffix: dict[str, str] = {}
    for (_level, name), keys in by_name.items():
        if len(keys) > 1:
            suffix.update(_variant_suffixes(ir, [first[k] for k in sorted(keys)]))
    for comp in ir.root.walk():
        name = base[comp.key]
        if comp.key in suffix and comp is not ir.root:
            name = f"{name}{suffix[comp.key]}"
        comp.name = name
    return ir


def _variant_suffixes(ir: IR, comps: list[Component]) -> dict[str, str]:
    """Suffixes that tell apart workloads named alike: what differs, readably (`_s2`, `_28x28`,
    both), when that tells each apart; else a short hash of each one's code."""
    details = [variant_details(ir, c) for c in comps]
    for picks in ((0,), (1,), (0, 1), (2,)):
        names = ["_".join(d[i] for i in picks if d[i]) for d in details]
        if len(set(names)) == len(names):
            return {c.key: f"_{n}" if n else "" for c, n in zip(comps, names)}
    return {c.key: f"_v{c.key[:6]}" for c in comps}
