"""group_layers before/after: a model-level root is cut into layers by the module hierarchy first
(a block of 6-15 kernels is one layer), then runs of loose kernels are cut after pooling and into
balanced pieces of at most 15 kernels that never split a fusion chain."""

from __future__ import annotations

from hdecomp_ir.ir import Component
from hdecomp_ir.spec import LAYER_MAX_OPS, Level
from pass_harness import run_pass

PASS = "group_layers"


def _labels(comp: Component) -> list[str]:
    return [k.label for k in comp.children]


def test_repeated_blocks_are_layers_of_their_module(update_golden: bool) -> None:
    run = run_pass(PASS, "stacked_blocks")
    stem, block0, block1, head = run.ir.root.children
    assert (stem.level, stem.module_path) == (Level.KERNEL, "stem")
    for block, path in ((block0, "blocks.0"), (block1, "blocks.1")):
        assert (block.level, block.origin, block.label, block.module_path) == \
            (Level.LAYER, "layer-module", "Block", path)
        assert len(block.children) == 6 and all(k.is_kernel for k in block.children)
    # the block's residual add is plumbing inside the layer, not left to the root
    assert [run.ir.info(n).name for n in run.ir.direct_nodes(block0)] == ["add"]
    assert run.ir.direct_nodes(run.ir.root) == []
    # Head has 3 kernels, too few for a layer of its own module: a chunk of the loose run
    assert (head.level, head.origin, _labels(head)) == \
        (Level.LAYER, "layer-chunk", ["Linear", "tanh", "sigmoid"])
    run.check_golden(update_golden)


def test_flat_sequential_is_cut_in_balanced_pieces(update_golden: bool) -> None:
    run = run_pass(PASS, "flat_sequential")
    layers = run.ir.root.children
    # 20 kernels: two pieces of 10, not 15 + 5
    assert [len(layer.children) for layer in layers] == [10, 10]
    assert all(layer.origin == "layer-chunk" for layer in layers)
    # every piece ends on a ReLU: no Linear is cut off from its ReLU
    assert all(layer.children[-1].label == "ReLU" for layer in layers)
    run.check_golden(update_golden)


def test_runs_are_cut_after_each_pool(update_golden: bool) -> None:
    run = run_pass(PASS, "pooled_convs")
    layers = run.ir.root.children
    assert len(layers) == 4
    for layer in layers:
        assert _labels(layer) == ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"]
        assert len(layer.children) <= LAYER_MAX_OPS
    run.check_golden(update_golden)


def test_a_stage_of_repeated_blocks_is_cut_at_its_blocks(update_golden: bool) -> None:
    """ResNet's stages hold two BasicBlocks each: the four blocks are the layers, though a
    stage would fit one."""
    run = run_pass(PASS, "block_stages")
    layers = [c for c in run.ir.root.children if c.origin != "layer-chunk"]  # the stem is one
    assert [(c.origin, c.label, c.module_path) for c in layers] == [
        ("layer-module", "Block", f"stage{s}.{b}") for s in (1, 2) for b in (0, 1)]
    assert all(len(c.children) == 6 for c in layers)
    run.check_golden(update_golden)
