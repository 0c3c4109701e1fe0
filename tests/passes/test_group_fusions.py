"""group_fusions before/after: inside every layer-level component an anchor (conv, linear) takes
the elementwise kernels that follow it on a straight line; an anchor never chains a second
anchor, a value read twice ends the chain, residual adds stay plumbing of the parent, and a layer
that one fusion would span keeps its kernels."""

from __future__ import annotations

from hdecomp_ir.spec import Level
from pass_harness import run_pass

PASS = "group_fusions"


def test_conv_bn_relu_chains_are_fusions(update_golden: bool) -> None:
    run = run_pass(PASS, "conv_bn_relu")
    children = run.ir.root.children
    assert [(c.level, c.label) for c in children] == [
        (Level.FUSION, "Conv2d+BatchNorm2d+relu"), (Level.FUSION, "Conv2d+BatchNorm2d+relu")]
    assert [(c.start, c.end) for c in children] == [(0, 2), (3, 5)]
    run.check_golden(update_golden)


def test_linear_chains_stop_at_anchors_and_fan_out(update_golden: bool) -> None:
    run = run_pass(PASS, "linear_gelu_residual")
    ir = run.ir
    assert [(c.level.label, c.label) for c in ir.root.children] == [
        ("fusion", "Linear+sigmoid"),
        ("fusion", "Linear+gelu"),
        ("kernel", "Linear"),      # fc2: a second anchor does not join Linear+gelu
        ("kernel", "Linear"),      # fc3: its output is read by tanh and by the add
        ("kernel", "tanh"),
    ]
    # both residual adds are the layer's own plumbing, in no fusion
    assert [ir.info(n).name for n in ir.direct_nodes(ir.root)] == ["add", "add"]
    run.check_golden(update_golden)


def test_fusions_inside_layers_and_a_layer_one_fusion_would_span(update_golden: bool) -> None:
    run = run_pass(PASS, "stacked_blocks")
    _, block0, block1, head = run.ir.root.children
    for block in (block0, block1):
        assert [(c.level.label, c.label) for c in block.children] == [
            ("kernel", "LayerNorm"), ("fusion", "Linear+relu"),
            ("fusion", "Linear+tanh+sigmoid")]
    # Linear+tanh+sigmoid would be the whole head layer: the layer keeps its kernels
    assert all(c.is_kernel for c in head.children) and len(head.children) == 3
    # the model-level root is not a layer: its kernel children are never fused
    assert run.ir.root.children[0].is_kernel
    run.check_golden(update_golden)


def test_attention_core_and_swiglu_are_recognised_patterns(update_golden: bool) -> None:
    """q, k and v of one input are one horizontal fusion; the scaled, masked scores, their
    softmax and the values are one `attention` fusion; silu(gate(h)) * up(h) is one `swiglu`
    fusion, though each holds two anchors or more."""
    run = run_pass(PASS, "attention_swiglu")
    ir = run.ir
    found = [(c.level.label, c.label, c.origin) for c in ir.root.children]
    assert found == [
        ("fusion", "qkv_projection", "fusion-pattern"),
        ("fusion", "attention", "fusion-pattern"),
        ("kernel", "Linear", "kernel-module"),
        ("fusion", "swiglu", "fusion-pattern"),
        ("kernel", "Linear", "kernel-module"),
    ], found
    qkv, attention = ir.root.children[:2]
    assert len(ir.outputs(qkv)) == 3  # one value per projection, no concatenated weight
    assert [k.label for k in attention.children] == ["matmul", "add", "softmax", "matmul"]
    run.check_golden(update_golden)
