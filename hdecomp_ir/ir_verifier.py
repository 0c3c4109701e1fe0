"""Invariants of the IR, one small named rule each; run before the pipeline and after every pass.

A broken rule raises IRInvariantError naming the rule, the component and the fix, with the IR
printed around the fault.
"""

from __future__ import annotations

from typing import Callable

from hdecomp_ir.errors import IRInvariantError
from hdecomp_ir.ir import IR, Component
from hdecomp_ir.spec import Level


def _fail(ir: IR, rule: str, comp: Component, what: str) -> None:
    from hdecomp_ir.printer import print_component

    context = "\n".join(print_component(ir, comp)[:20])
    raise IRInvariantError(f"IR invariant {rule!r} broken at {comp.cid}: {what}\n{context}",
                           fix="this is a bug in a pass; run `hdecomp ir` to see the IR")


def children_nest(ir: IR) -> None:
    """Children lie inside their parent, in order, without overlap."""
    for comp in ir.root.walk():
        last = comp.start - 1
        for child in comp.children:
            if child.start < comp.start or child.end > comp.end:
                _fail(ir, "children_nest", child, f"range outside parent {comp.cid}")
            if child.start <= last:
                _fail(ir, "children_nest", child, "overlaps or precedes its previous sibling")
            last = child.end


def levels_decrease(ir: IR) -> None:
    """A child's level is below its parent's."""
    for comp in ir.root.walk():
        for child in comp.children:
            if child.level >= comp.level:
                _fail(ir, "levels_decrease", child,
                      f"{child.level.label} under {comp.level.label} {comp.cid}")


def compute_owned_by_kernels(ir: IR) -> None:
    """Every compute node is owned by exactly one kernel (once kernels exist)."""
    kernels = ir.kernels()
    if not kernels or (len(kernels) == 1 and kernels[0] is ir.root):
        return
    owner: dict[int, str] = {}
    for k in kernels:
        for i in range(k.start, k.end + 1):
            if i in owner:
                _fail(ir, "compute_owned_by_kernels", k, f"op {ir.ops[i].name} also in {owner[i]}")
            owner[i] = k.cid
    for i, node in enumerate(ir.ops):
        if node in ir.compute and i not in owner:
            _fail(ir, "compute_owned_by_kernels", ir.root, f"compute op {node.name} has no kernel")


def plumbing_in_parents(ir: IR) -> None:
    """Nodes a non-kernel component owns directly are plumbing."""
    for comp in ir.root.walk():
        if comp.is_kernel or not comp.children:
            continue
        for node in ir.direct_nodes(comp):
            if node in ir.compute:
                _fail(ir, "plumbing_in_parents", comp, f"compute op {node.name} outside any child")


def leaves_are_kernels(ir: IR) -> None:
    """Every leaf of a decomposed tree is a kernel."""
    for comp in ir.root.walk():
        if not comp.children and comp.level is not Level.KERNEL and comp is not ir.root:
            _fail(ir, "leaves_are_kernels", comp, f"{comp.level.label} without children")


def names_unique(ir: IR) -> None:
    """Equal names mean equal keys (one file per workload), once names are assigned."""
    seen: dict[tuple[Level, str], str] = {}
    for comp in ir.root.walk():
        if not comp.name:
            continue
        prev = seen.setdefault((comp.level, comp.name), comp.key)
        if prev != comp.key:
            _fail(ir, "names_unique", comp, f"name {comp.name} used for two different workloads")


RULES: list[Callable[[IR], None]] = [children_nest, levels_decrease, compute_owned_by_kernels,
                                     plumbing_in_parents, leaves_are_kernels, names_unique]


def verify_ir(ir: IR) -> None:
    """Check every invariant; raise IRInvariantError on the first broken one."""
    for rule in RULES:
        rule(ir)
