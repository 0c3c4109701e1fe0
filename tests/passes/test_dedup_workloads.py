"""dedup_workloads before/after: components with equal canonical code get equal keys and count
their instances; the same ops on another workload stay a key of their own."""

from __future__ import annotations

from collections import Counter

from pass_harness import run_pass

PASS = "dedup_workloads"


def test_two_equal_blocks_are_one_workload(update_golden: bool) -> None:
    run = run_pass(PASS, "stacked_blocks")
    root = run.ir.root
    stem, block0, block1, head = root.children
    assert block0.key and block0.key == block1.key
    assert block0.instances == block1.instances == 2
    # children pairwise equal too, and distinct from what only looks alike
    for a, b in zip(block0.children, block1.children):
        assert a.key == b.key and a.instances == 2
    assert stem.instances == 1 and head.instances == 1
    assert head.key != block0.key and root.instances == 1
    # an up projection 4x8 and a down projection 8x4 are different workloads
    up, down = block0.children[1].children[0], block0.children[2].children[0]
    assert up.key != down.key
    run.check_golden(update_golden)


def test_ten_equal_pairs_and_two_equal_pieces(update_golden: bool) -> None:
    run = run_pass(PASS, "flat_sequential")
    layers = run.ir.root.children
    assert [layer.instances for layer in layers] == [2, 2]
    fusions = [f for layer in layers for f in layer.children]
    assert len(fusions) == 10 and len({f.key for f in fusions}) == 1
    assert all(f.instances == 10 for f in fusions)
    counts = Counter(c.key for c in run.ir.root.walk())
    assert all(c.instances == counts[c.key] for c in run.ir.root.walk())
    run.check_golden(update_golden)
