"""group_fusions: group kernels into fusions inside every layer-level component.

Needs: kernels formed; layers grouped (or a root at layer level).
Guarantees: each LAYER component's children are fusions and single kernels (only kernels when
one fusion would span the whole layer); a fusion holds 2-5
kernels over a contiguous range; a fusion's only escaping values come from its last kernel.

Recognised patterns come first and override the lattice (origin `fusion-pattern`, named by
the pattern): the attention core (`softmax(q @ kᵀ, scaled, masked) @ v`), a gated linear
unit (`silu(gate(x)) * up(x)`: SwiGLU; GeGLU, ReGLU, GLU by the activation) and sibling
projections of one input (q, k, v: a horizontal fusion with one output per projection).

Rules (the TVM FuseOps lattice, DESIGN.md): a fusion starts at an anchor (conv, linear, matmul:
out-elementwise-fusable), a reduction or an elementwise op, and takes the elementwise/broadcast
kernels that follow it on a straight line: every value between them is read only inside the
chain (no fan-out, no residual crossing), only plumbing sits between, and an anchor never chains
a second anchor. Opaque ops (RNNs, unknown ops) never fuse.
"""

from __future__ import annotations

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.naming import kernel_op_label
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


# -- recognised patterns: they override the lattice's "one anchor, no fan-out" rule ---------

# The activation of a gated linear unit names it (`silu(gate(x)) * up(x)` is SwiGLU).
_GLU_NAMES = {"silu": "swiglu", "gelu": "geglu", "gelu_tanh": "geglu", "gelu_erf": "geglu",
              "relu": "reglu", "sigmoid": "glu"}
_MATMULS = frozenset({"matmul", "bmm", "mm"})


def _op(ir: IR, kernel: Component) -> str:
    return kernel_op_label(ir, kernel)


def _closed(ir: IR, run: list[Component]) -> bool:
    """Whether only the run's last kernel has values read after the run (no fan-out)."""
    span = set(ir.ops[run[0].start:run[-1].end + 1])
    return all(user in span for node in ir.ops[run[0].start:run[-1].start] for user in node.users)


def _reads(ir: IR, kernel: Component, producer: Component) -> bool:
    """Whether `kernel` reads a value of `producer`, directly or through plumbing (a scale by
    a constant, a transpose) between them."""
    made = set(ir.region(producer))
    for node in ir.ops[producer.end + 1:kernel.start]:
        if node not in ir.compute and any(a in made for a in node.all_input_nodes):
            made.add(node)
    return any(a in made for n in ir.region(kernel) for a in n.all_input_nodes)


def _is_linear(ir: IR, kernel: Component) -> bool:
    return _op(ir, kernel) in ("linear", "addmm") and bool(ir.weights(kernel))


def glu_pattern(ir: IR, run: list[Component]) -> str | None:
    """`act(gate(x)) * up(x)`: two linears on one input, an activation of one, their product
    (in either trace order). Returns swiglu/geglu/reglu/glu, or None."""
    if len(run) != 4 or _op(ir, run[-1]) != "mul" or not _closed(ir, run):
        return None
    linears = [k for k in run[:3] if _is_linear(ir, k)]
    acts = [k for k in run[:3] if _op(ir, k) in _GLU_NAMES]
    if len(linears) != 2 or len(acts) != 1 or ir.inputs(linears[0]) != ir.inputs(linears[1]):
        return None
    act = acts[0]
    gate = next((k for k in linears if _reads(ir, act, k)), None)
    up = next((k for k in linears if k is not gate), None)
    if gate is None or up is None or not (_reads(ir, run[-1], act) and _reads(ir, run[-1], up)):
        return None
    return _GLU_NAMES[_op(ir, act)]


def sibling_projections(ir: IR, run: list[Component]) -> str | None:
    """Two or three linears that read one input (q, k and v of one hidden state): one
    horizontal fusion, each weight its own parameter."""
    if not 2 <= len(run) <= 3 or not all(_is_linear(ir, k) for k in run):
        return None
    first = ir.inputs(run[0])
    if len(first) != 1 or any(ir.inputs(k) != first for k in run[1:]):
        return None
    return "qkv_projection" if len(run) == 3 else "parallel_linear"


def attention_pattern(ir: IR, run: list[Component]) -> str | None:
    """`softmax(q @ kᵀ ...) @ v`: a matmul of two activations, elementwise or injective kernels
    (a scale, a mask added or a masked_fill), one softmax, and the matmul of the probabilities
    with the values."""
    if not 3 <= len(run) <= FUSION_MAX_OPS or not _closed(ir, run):
        return None
    first, last, middle = run[0], run[-1], run[1:-1]
    if _op(ir, first) not in _MATMULS or _op(ir, last) not in _MATMULS or \
            ir.weights(first) or ir.weights(last):
        return None
    if sum(1 for k in middle if _op(ir, k) == "softmax") != 1 or \
            any(_op(ir, k) != "softmax" and kernel_pattern(ir, k) > Pattern.INJECTIVE for k in middle):
        return None
    chain = [first, *middle, last]
    if not all(_reads(ir, b, a) for a, b in zip(chain, chain[1:])):
        return None
    return "attention"


def pattern_groups(ir: IR, kernels: list[Component]) -> list[tuple[list[Component], str | None]]:
    """Consecutive kernels split into recognised patterns (group, pattern name) and the runs
    between them (run, None), left to right, the longest pattern first."""
    out: list[tuple[list[Component], str | None]] = []
    loose: list[Component] = []
    i = 0
    while i < len(kernels):
        found = None
        for size in range(min(FUSION_MAX_OPS, len(kernels) - i), 1, -1):
            run = kernels[i:i + size]
            name = attention_pattern(ir, run) or glu_pattern(ir, run) or \
                sibling_projections(ir, run)
            if name is not None:
                found = run, name
                break
        if found is None:
            loose.append(kernels[i])
            i += 1
            continue
        if loose:
            out.append((loose, None))
            loose = []
        out.append(found)
        i += len(found[0])
    if loose:
        out.append((loose, None))
    return out


def _fuse_children(ir: IR, comp: Component) -> None:
    new_children: list[Component] = []
    groups: list[tuple[list[Component], str | None]] = []
    for run, pattern in pattern_groups(ir, [c for c in comp.children if c.is_kernel]):
        groups.extend([(run, pattern)] if pattern else [(g, None) for g in fusion_groups(ir, run)])
    for group, pattern in groups:
        if len(group) == 1:
            new_children.append(group[0])
            continue
        labels = [k.label for k in group]
        fusion = Component(cid=f"{comp.cid}.f{len(new_children)}", level=Level.FUSION,
                           start=group[0].start, end=group[-1].end,
                           label=pattern or "+".join(labels),
                           origin="fusion-pattern" if pattern else "fusion", children=group)
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
