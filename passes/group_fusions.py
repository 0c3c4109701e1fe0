"""group_fusions: group kernels into fusions inside every layer-level component.

Needs: kernels formed; layers grouped (or a root at layer level).
Guarantees: each LAYER component's children are fusions and single kernels (only kernels when
one fusion would span the whole layer); a fusion holds 2-5
kernels over a contiguous range; a fusion's only escaping values come from its last kernel.

Rules (the TVM FuseOps lattice, DESIGN.md): a fusion starts at an anchor (conv, linear, matmul:
out-elementwise-fusable), a reduction or an elementwise op, and takes the elementwise/broadcast
kernels that follow it on a straight line: every value between them is read only inside the
chain (no fan-out, no residual crossing), only plumbing sits between, and an anchor never chains
a second anchor. Opaque ops (RNNs, unknown ops) never fuse.
"""

from __future__ import annotations

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.policy import Pattern
from hdecomp_ir.spec import FUSION_MAX_OPS, Level


def kernel_pattern(ir: IR, kernel: Component) -> Pattern:
    """Fusion pattern of a kernel: the least fusable of its compute ops."""
    pats = [ir.info(n).pattern for n in ir.compute_nodes(kernel)]
    return max(pats) if pats else Pattern.INJECTIVE


def can_extend(ir: IR, group: list[Component], nxt: Component) -> bool:
    """May `nxt` join the fusion `group` (a straight-line elementwise epilogue)?"""
    if len(group) >= FUSION_MAX_OPS:
        return False
    if kernel_pattern(ir, group[0]) is Pattern.OPAQUE:
        return False
    if kernel_pattern(ir, nxt) > Pattern.BROADCAST:
        return False
    last = group[-1]
    between = ir.ops[last.end + 1:nxt.start]
    if any(n in ir.compute for n in between):
        return False
    span = set(ir.ops[group[0].start:nxt.end + 1])
    chain = set(ir.ops[last.start:last.end + 1]) | set(between)
    # nxt must read the chain, and nothing before nxt may escape the span (no fan-out).
    if not any(a in chain for n in ir.region(nxt) for a in n.all_input_nodes):
        return False
    for node in ir.ops[group[0].start:nxt.start]:
        if any(user not in span for user in node.users):
            return False
    # Plumbing between must hang off the chain, not bring in unrelated work.
    for node in between:
        if not any(a in span for a in node.all_input_nodes):
            return False
    return True


def fusion_groups(ir: IR, kernels: list[Component]) -> list[list[Component]]:
    """Greedy left-to-right grouping of consecutive kernels into fusion chains."""
    groups: list[list[Component]] = []
    for kernel in kernels:
        if groups and can_extend(ir, groups[-1], kernel):
            groups[-1].append(kernel)
        else:
            groups.append([kernel])
    return groups


def _fuse_children(ir: IR, comp: Component) -> None:
    new_children: list[Component] = []
    for group in fusion_groups(ir, [c for c in comp.children if c.is_kernel]):
        if len(group) == 1:
            new_children.append(group[0])
            continue
        labels = [k.label for k in group]
        fusion = Component(cid=f"{comp.cid}.f{len(new_children)}", level=Level.FUSION,
                           start=group[0].start, end=group[-1].end, label="+".join(labels),
                           origin="fusion", children=group)
        new_children.append(fusion)
    if len(new_children) == 1 and not new_children[0].is_kernel:
        # One fusion spanning the whole layer would be a step whose only child is the layer
        # itself: the layer keeps its kernels as direct children instead.
        return
    comp.children = new_children


def group_fusions(ir: IR) -> IR:
    """Group the kernel children of every layer-level component into fusions."""
    for comp in list(ir.root.walk()):
        if comp.level is Level.LAYER:
            _fuse_children(ir, comp)
    return ir
