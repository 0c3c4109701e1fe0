"""classify_levels before/after: the root's level follows the specification's kernel-count
thresholds (1 kernel, 2-5 fusion, 6-15 layer, 16+ model), and a one-kernel root becomes that
kernel."""

from __future__ import annotations

import pytest

from hdecomp_ir.spec import FUSION_MAX_OPS, LAYER_MAX_OPS, Level
from pass_harness import run_pass
from passes.classify_levels import level_for_count

PASS = "classify_levels"


@pytest.mark.parametrize("count, level", [
    (0, Level.KERNEL), (1, Level.KERNEL), (2, Level.FUSION), (5, Level.FUSION),
    (6, Level.LAYER), (15, Level.LAYER), (16, Level.MODEL), (200, Level.MODEL)])
def test_thresholds(count: int, level: Level) -> None:
    # written out, not derived from the constants: the spec's numbers are what is guarded
    assert (FUSION_MAX_OPS, LAYER_MAX_OPS) == (5, 15)
    assert level_for_count(count) is level


def test_one_kernel_root_becomes_that_kernel(update_golden: bool) -> None:
    run = run_pass(PASS, "one_linear")
    root = run.ir.root
    assert root.level is Level.KERNEL and root.children == []
    assert (root.label, root.origin) == ("Linear", "kernel-module")
    assert any("nothing to decompose" in note for note in root.notes)
    run.check_golden(update_golden)


@pytest.mark.parametrize("case, kernels, level", [
    ("tanh_chain_5", 5, Level.FUSION),      # the most a fusion holds
    ("tanh_chain_6", 6, Level.LAYER),       # one more
    ("stacked_blocks", 16, Level.MODEL),    # one more than a layer holds
])
def test_root_level_at_the_thresholds(case: str, kernels: int, level: Level,
                                      update_golden: bool) -> None:
    run = run_pass(PASS, case)
    assert len(run.ir.root.children) == kernels
    assert run.ir.root.level is level
    run.check_golden(update_golden)
