"""assign_names before/after: kernels are named by workload, fusions by the ops they chain and
their anchor, layers by their module class, the root by the model file; equal keys share a name
and two workloads the rules name alike are told apart by a short hash, never by `_2`."""

from __future__ import annotations

import re

from pass_harness import run_pass

PASS = "assign_names"


def test_names_per_level(update_golden: bool) -> None:
    run = run_pass(PASS, "stacked_blocks")
    root = run.ir.root
    stem, block0, block1, head = root.children
    assert root.name == "stacked_blocks"
    assert stem.name == "linear_5x4_fp32"                      # op, in x out, dtype
    assert block0.name == block1.name == "block_4_fp32"        # module class
    norm, up_relu, down_chain = block0.children
    assert norm.name == "layer_norm_4_fp32"
    assert up_relu.name == "linear_relu_4x8_fp32"              # ops chained + anchor
    assert down_chain.name == "linear_tanh_sigmoid_8x4_fp32"
    assert up_relu.children[1].name == "relu_fp32"            # weightless elementwise: op, dtype
    assert head.name == "linear_tanh_sigmoid_4x3_fp32"         # a chunk: by its ops
    run.check_golden(update_golden)


def test_alike_workloads_are_told_apart_by_hash(update_golden: bool) -> None:
    run = run_pass(PASS, "masked_scores")
    fill_inf, _, fill_zero = run.ir.root.children
    # -inf and 0.0 fills: two workloads the rules both name masked_fill_8x8_fp32
    assert fill_inf.key != fill_zero.key
    for fill in (fill_inf, fill_zero):
        assert re.fullmatch(r"masked_fill_8x8_fp32_v[0-9a-f]{6}", fill.name), fill.name
        assert fill.name == f"masked_fill_8x8_fp32_v{fill.key[:6]}"
    assert fill_inf.name != fill_zero.name
    assert not any(re.search(r"_\d+$", c.name) for c in run.ir.root.walk())
    run.check_golden(update_golden)


def test_a_one_kernel_root_is_named_by_its_workload(update_golden: bool) -> None:
    run = run_pass(PASS, "one_linear")
    # not by the model file: the root is a kernel file in level_0_kernel
    assert run.ir.root.name == "linear_4x3_fp32"
    run.check_golden(update_golden)


def test_alike_workloads_are_told_apart_by_what_differs(update_golden: bool) -> None:
    run = run_pass(PASS, "strided_residual_convs")
    names = [c.name for c in run.ir.root.walk() if c is not run.ir.root]
    # conv1 (8x8 input), conv2 (8x8, stride 2) and conv3 (4x4) are three workloads the rules
    # all name `conv2d_4x4_3x3_fp32`: stride and input size tell them apart
    convs = sorted(n for n in names if n.startswith("conv2d_4x4_3x3_fp32"))
    assert convs == ["conv2d_4x4_3x3_fp32_4x4", "conv2d_4x4_3x3_fp32_8x8",
                     "conv2d_4x4_3x3_fp32_s2_8x8"], names
    # the residual add inside conv3's chain is named, not hashed
    assert any(n.startswith("conv2d_batch_norm_add_relu_4x4_3x3_fp32") for n in names), names
    assert not any(re.search(r"_v[0-9a-f]{6}$", n) for n in names), names
    run.check_golden(update_golden)
