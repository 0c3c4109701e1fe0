"""sink_weight_chains before/after: a weight-only chain read by two consumers becomes one private
copy per consumer, right before it, so every later pass can treat kernels as op ranges."""

from __future__ import annotations

from torch import fx

from hdecomp_ir.ir import IR
from pass_harness import lower_until, run_pass

PASS = "sink_weight_chains"


def _by_op(ir: IR, op: str) -> list[fx.Node]:
    return [n for n in ir.ops if ir.info(n).name == op]


def _assert_sunk(ir: IR) -> None:
    """The pass's guarantee: one user each, and the chain sits right before that user."""
    for node in ir.weight_derived:
        [user] = node.users
        between = ir.ops[ir.pos[node] + 1:ir.pos[user]]
        assert all(n in ir.weight_derived for n in between), (node.name, user.name)


def test_position_table_slice_read_twice(update_golden: bool) -> None:
    ir = lower_until(PASS, "pos_table_two_readers")
    [table] = _by_op(ir, "slice")
    # the case is only a case if the slice is shared, and the second reader is far from it
    assert len(table.users) == 2
    run = run_pass(PASS, "pos_table_two_readers", ir)
    slices, muls = _by_op(run.ir, "slice"), _by_op(run.ir, "mul")
    assert len(slices) == 2 and len(muls) == 2
    for copy, mul in zip(slices, muls):
        assert list(copy.users) == [mul] and run.ir.pos[mul] == run.ir.pos[copy] + 1
    _assert_sunk(run.ir)
    run.check_golden(update_golden)


def test_two_op_mask_chain_is_copied_whole(update_golden: bool) -> None:
    ir = lower_until(PASS, "masked_scores")
    assert [len(n.users) for n in _by_op(ir, "bitwise_not")] == [2]
    run = run_pass(PASS, "masked_scores", ir)
    # `~mask[:t, :t]` is slice, slice, bitwise_not: each masked_fill gets all three
    assert len(_by_op(run.ir, "bitwise_not")) == 2
    assert len(_by_op(run.ir, "slice")) == 4
    for fill in _by_op(run.ir, "masked_fill"):
        p = run.ir.pos[fill]
        assert [run.ir.info(n).name for n in run.ir.ops[p - 3:p]] == \
            ["slice", "slice", "bitwise_not"]
    _assert_sunk(run.ir)
    run.check_golden(update_golden)


def test_nothing_to_sink_leaves_the_graph_alone(update_golden: bool) -> None:
    ir = lower_until(PASS, "rms_norm")
    # the RMSNorm weight is read once, directly: no weight-only op to copy
    assert not ir.weight_derived
    targets = [n.target for n in ir.ops]
    run = run_pass(PASS, "rms_norm", ir)
    assert [n.target for n in run.ir.ops] == targets
    assert run.before == run.after
    run.check_golden(update_golden)


def test_a_constant_mask_is_rebuilt_in_each_layer_that_reads_it(update_golden: bool) -> None:
    ir = lower_until(PASS, "position_mask_two_layers")
    [arange] = _by_op(ir, "arange")
    [keep] = _by_op(ir, "le")
    assert len(keep.users) == 2 and arange in ir.constant_derived
    run = run_pass(PASS, "position_mask_two_layers", ir)
    aranges, nots = _by_op(run.ir, "arange"), _by_op(run.ir, "bitwise_not")
    assert len(aranges) == 2 and len(_by_op(run.ir, "le")) == 2 and len(nots) == 2
    for arange, hide in zip(aranges, nots):
        # the copy is placed in, and belongs to, the layer that reads it
        [fill] = hide.users
        assert run.ir.pos[arange] < run.ir.pos[hide] < run.ir.pos[fill]
        stack = list(arange.meta["nn_module_stack"].values())
        assert stack == list(fill.meta["nn_module_stack"].values())
        assert stack[-1][0] in ("first", "second")
    # constants are plumbing: no kernel computes the mask
    assert all(n not in run.ir.compute for n in aranges + nots + _by_op(run.ir, "le"))
    run.check_golden(update_golden)
