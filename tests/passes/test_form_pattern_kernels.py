"""form_pattern_kernels before/after: functions written inline join into one kernel each, named
by the function; a residual add before a norm and a product of two unrelated activations do not."""

from __future__ import annotations

from pass_harness import run_pass

PASS = "form_pattern_kernels"


def test_inline_norm_gelu_and_softmax_are_one_kernel_each(update_golden: bool) -> None:
    run = run_pass(PASS, "inline_functions")
    ir = run.ir
    kernels = [(k.label, k.origin) for k in ir.root.children]
    assert kernels == [
        ("rms_norm", "kernel-pattern"), ("Linear", "kernel-module"),
        ("gelu_tanh", "kernel-pattern"), ("Linear", "kernel-module"),
        ("softmax", "kernel-pattern"), ("Linear", "kernel-module"),
        ("sigmoid", "kernel-op"), ("mul", "kernel-op"),  # p * sigmoid(g): two activations
    ], kernels
    norm = ir.root.children[0]
    # the eps add (a scalar: plumbing on its own) is inside the norm now, not in the parent
    assert [ir.info(n).name for n in ir.region(norm)] == ["pow", "mean", "add", "rsqrt", "mul", "mul"]
    # left in the parent: the residual add only
    assert [ir.info(n).name for n in ir.direct_nodes(ir.root)
            if ir.info(n).name in ("add", "sub", "mul", "div")] == ["add"]
    run.check_golden(update_golden)


def test_ops_already_one_kernel_each_stay_as_they_are(update_golden: bool) -> None:
    run = run_pass(PASS, "linear_tanh_flatten")
    assert [(k.label, k.origin) for k in run.ir.root.children] == [
        ("Linear", "kernel-module"), ("tanh", "kernel-op")]
    assert run.before == run.after
    run.check_golden(update_golden)
