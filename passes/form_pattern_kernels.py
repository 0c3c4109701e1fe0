"""form_pattern_kernels: ops written inline that compute one named function become one kernel.

Needs: kernels formed (form_kernels): the root's children are all kernels, contiguous ranges.
Guarantees: the same, with some runs of consecutive single-op kernels, and the plumbing between
them, replaced by one kernel of origin `kernel-pattern` labelled by the function it computes.

Rules (the semantic table of hdecomp_ir.policy, by which the verifier judges the kernel file):
- A run is consecutive kernels of origin `kernel-op`, none an anchor, an opaque or a random op,
  whose ops all ran in one module call: an RMSNorm written inline in a decoder block's forward,
  GELU-tanh spelled out, a softmax by hand.
- A run is one kernel when its ops compute one function of the table (`semantic_function`, two
  ops at least), it reads at most the activations that function takes (`function_inputs`: a
  norm reads one, so a residual add before it, which reads two, stays outside) and one of its
  values is read after it.
- A run that is two such functions one after the other is not one (two F.normalize calls).
  Required ops are matched strictly (`semantic_function(strict=True)`): a learned scale
  before a sigmoid is no SiLU.
- The kernel starts earlier over plumbing that only feeds it (`0.5 * x` before GELU's pow),
  never over an op that joins two activations, and ends later over plumbing that reads only
  the run (the sum of RoPE's two products).
- The longest run from the leftmost kernel wins; then the next kernel starts a run.
"""

from __future__ import annotations

from hdecomp_ir.ir import IR, Component
from hdecomp_ir.policy import OpKind, Pattern, SEMANTIC_MAX_OPS, function_inputs, is_anchor, \
    is_random_op, semantic_function
from hdecomp_ir.spec import Level
from passes.form_kernels import logical_ops


def _joinable(ir: IR, kernel: Component) -> bool:
    """A single-op kernel that may be part of an inline function."""
    if kernel.origin != "kernel-op":
        return False
    compute = ir.compute_nodes(kernel)
    return len(compute) == 1 and not is_anchor(ir.info(compute[0])) and \
        ir.info(compute[0]).pattern is not Pattern.OPAQUE and not is_random_op(compute[0].target)


def _call(ir: IR, kernel: Component) -> tuple[str, ...]:
    """The module calls the kernel's op ran in, outermost first."""
    return tuple(key for key, _, _ in ir.module_stack(ir.compute_nodes(kernel)[0]))


def _first_op(ir: IR, run: list[Component], floor: int) -> int:
    """Where a run's kernel starts: its first kernel's start, or earlier over the plumbing that
    only feeds the run (`0.5 * x` before GELU's pow), down to `floor`. An op joining two
    activations (a residual add) stays outside."""
    start, end = run[0].start, run[-1].end
    while start - 1 >= floor:
        node = ir.ops[start - 1]
        if node in ir.compute or ir.activation_operands(node) > 1 or \
                any(not start <= ir.pos.get(u, -1) <= end for u in node.users):
            break
        start -= 1
    return start


def _last_op(ir: IR, start: int, end: int, ceiling: int) -> int:
    """Where a run's kernel ends: its last kernel's end, or later over plumbing that reads only
    the run (RoPE's `q * cos + rotate_half(q) * sin`: the sum of its two products), up to
    `ceiling`."""
    while end + 1 <= ceiling:
        node = ir.ops[end + 1]
        inside = set(ir.ops[start:end + 1])
        operands = [a for a in node.all_input_nodes if not ir.is_weight(a)]
        # arithmetic only: a view of the result (a transpose for the next matmul) stays outside
        if node in ir.compute or ir.info(node).kind is not OpKind.ARITH or not operands or \
                not all(a in inside for a in operands):
            break
        end += 1
    return end


def run_function(ir: IR, run: list[Component], floor: int = 0,
                 ceiling: int | None = None) -> tuple[int, int, str] | None:
    """Where the kernel a run of kernels makes starts and ends and the function it computes, by
    the rules above, if it is one (`floor`: the first op after the kernel before it; `ceiling`:
    the last op before the next kernel)."""
    start = _first_op(ir, run, floor)
    end = _last_op(ir, start, run[-1].end, run[-1].end if ceiling is None else ceiling)
    span = Component(cid="probe", level=Level.KERNEL, start=start, end=end, label="",
                     origin="kernel-pattern")
    tokens, anchors = logical_ops(ir, ir.region(span))
    if len(tokens) < 2:
        return None
    function = semantic_function(tokens, anchors, strict=True)
    if function is None:
        return None
    if len(ir.inputs(span)) > function_inputs(function) or len(ir.outputs(span)) != 1:
        return None
    return span.start, span.end, function


def _two_functions(ir: IR, run: list[Component], floor: int) -> bool:
    """Whether a run is two functions one after the other (F.normalize twice is no norm)."""
    return any(run_function(ir, run[:cut], floor, run[cut].start - 1) is not None and
               run_function(ir, run[cut:], run[cut - 1].end + 1) is not None
               for cut in range(2, len(run) - 1))


def form_pattern_kernels(ir: IR) -> IR:
    """Replace runs of single-op kernels that compute one named function by one kernel."""
    kernels = ir.root.children
    out: list[Component] = []
    i = 0
    while i < len(kernels):
        found = None
        if _joinable(ir, kernels[i]):
            call = _call(ir, kernels[i])
            j = i + 1
            while j < len(kernels) and j - i < SEMANTIC_MAX_OPS and _joinable(ir, kernels[j]) \
                    and _call(ir, kernels[j]) == call:
                j += 1
            floor = out[-1].end + 1 if out else 0
            for end in range(j - 1, i, -1):
                ceiling = kernels[end + 1].start - 1 if end + 1 < len(kernels) else len(ir.ops) - 1
                joined = run_function(ir, kernels[i:end + 1], floor, ceiling)
                if joined is not None and not _two_functions(ir, kernels[i:end + 1], floor):
                    found = end, *joined
                    break
        if found is None:
            out.append(kernels[i])
            i += 1
            continue
        last, start, end, function = found
        out.append(Component(cid="", level=Level.KERNEL, start=start, end=end, label=function,
                             origin="kernel-pattern"))
        i = last + 1
    for n, kernel in enumerate(out):
        kernel.cid = f"k{n}"
    ir.root.children = out
    return ir
