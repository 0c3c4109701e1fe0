"""form_kernels before/after: builtin leaf modules and small named custom modules are one kernel
each, any other compute op is a kernel of its own, data-only builtins stay plumbing, and the
getitems unpacking a multi-output op belong to its kernel."""

from __future__ import annotations

from hdecomp_ir.spec import Level
from pass_harness import run_pass

PASS = "form_kernels"


def test_builtin_linear_and_inline_op_flatten_is_plumbing(update_golden: bool) -> None:
    run = run_pass(PASS, "linear_tanh_flatten")
    ir = run.ir
    assert [(k.label, k.origin, k.module_path) for k in ir.root.children] == [
        ("Linear", "kernel-module", "fc"), ("tanh", "kernel-op", None)]
    # nn.Flatten computes nothing: its op stays with the root, outside every kernel
    assert [ir.info(n).name for n in ir.direct_nodes(ir.root)] == ["flatten"]
    run.check_golden(update_golden)


def test_custom_rms_norm_module_is_one_kernel(update_golden: bool) -> None:
    run = run_pass(PASS, "rms_norm")
    ir = run.ir
    norm, out = ir.root.children
    assert (norm.label, norm.origin, norm.module_path) == ("RMSNorm", "kernel-semantic", "norm")
    # pow, mean, add, rsqrt, mul, mul: all of RMSNorm's ops in the one kernel
    assert (norm.start, norm.end) == (0, 5) and len(ir.compute_nodes(norm)) >= 4
    assert (out.label, out.origin) == ("Linear", "kernel-module")
    assert all(k.level is Level.KERNEL and not k.children for k in ir.root.children)
    run.check_golden(update_golden)


def test_getitems_of_a_multi_output_op_join_its_kernel(update_golden: bool) -> None:
    run = run_pass(PASS, "max_getitem")
    ir = run.ir
    top, relu = ir.root.children
    assert [ir.info(n).name for n in ir.region(top)] == ["max", "getitem", "getitem"]
    assert relu.label == "relu" and (relu.start, relu.end) == (3, 3)
    # nothing is left to the root: the getitems are not plumbing between kernels
    assert ir.direct_nodes(ir.root) == []
    run.check_golden(update_golden)
