"""Output comparison, degenerate outputs, mutated inputs and the divergence search."""

from __future__ import annotations

import torch

from verifier.judge import numerics
from verifier.runtime.instrument import fingerprint


def test_leaf_by_leaf_with_nested_structure() -> None:
    a = torch.randn(3, 4)
    orig = (a, {"b": a * 2, "n": 3})
    diffs, problems = numerics.compare(orig, (a.clone(), {"b": a * 2, "n": 3}), 1e-5, 1e-6)
    assert not problems and [d.path for d in diffs] == ["out[0]", "out[1]['b']"]
    assert all(d.passed for d in diffs)


def test_mismatches_report_leaf_index_and_values() -> None:
    a = torch.zeros(2, 3)
    b = a.clone()
    b[1, 2] = 0.5
    diffs, _ = numerics.compare(a, b, 1e-5, 1e-6)
    assert not diffs[0].passed and diffs[0].worst_index == [1, 2]
    assert diffs[0].max_abs == 0.5 and diffs[0].ref_value == 0.5


def test_structure_shape_and_dtype_problems() -> None:
    x = torch.ones(2, 2)
    assert numerics.compare((x, x), (x,), 0, 0)[1][0].rule == "structure_mismatch"
    assert numerics.compare(x, x.reshape(4), 0, 0)[1][0].rule == "shape_mismatch"
    assert numerics.compare(x, x.double(), 0, 0)[1][0].rule == "dtype_mismatch"


def test_integer_outputs_compare_exactly() -> None:
    x = torch.arange(6)
    assert numerics.compare(x, x + 0, 0, 0)[0][0].passed
    assert not numerics.compare(x, x + 1, 1.0, 1.0)[0][0].passed


def test_nan_in_the_same_place_is_equal() -> None:
    x = torch.tensor([1.0, float("nan")])
    assert numerics.compare(x, x.clone(), 1e-5, 1e-6)[0][0].passed
    assert not numerics.compare(x, torch.tensor([1.0, 2.0]), 1e-5, 1e-6)[0][0].passed


def test_degenerate_outputs() -> None:
    inp = torch.randn(4, 4)
    tiny = torch.tanh(inp) * 1e-7
    assert numerics.degenerate(tiny, torch.zeros_like(tiny), [inp])[0].message.startswith("out is all zeros")
    assert "constant" in numerics.degenerate(tiny, torch.full_like(tiny, 1e-8), [inp])[0].message
    assert "copy of input 0" in numerics.degenerate(inp + tiny, inp.clone(), [inp])[0].message
    # Where the original is itself zero, constant or the input, the refactored may be too.
    assert numerics.degenerate(torch.zeros(3), torch.zeros(3), [inp]) == []
    assert numerics.degenerate(inp.clone(), inp.clone(), [inp]) == []


def test_weak_signal_is_flagged() -> None:
    weak = numerics.magnitude([torch.full((3,), 1e-7)], atol=1e-6)
    strong = numerics.magnitude([torch.full((3,), 1.0)], atol=1e-6)
    assert weak["weak"] and not strong["weak"] and strong["max_abs_over_atol"] == 1e6


def test_input_changes() -> None:
    x = torch.ones(3)
    assert numerics.input_changes([x], [x.clone()], None, [False], 0, 0) == []
    changed = numerics.input_changes([x], [x * 2], None, [False], 0, 0)
    assert changed[0].rule == "input_mutated" and changed[0].message.startswith("input 0")
    assert numerics.input_changes([x], [x * 2], [x * 2], [True], 0, 0) == []
    assert numerics.input_changes([x], [x * 3], [x * 2], [True], 0, 0)[0].rule == "input_mutated"


def test_first_divergence_names_the_child() -> None:
    a, b, c = torch.randn(2, 8), torch.randn(2, 8), torch.randn(2, 4)
    orig = [fingerprint(t) for t in (a, b, c)]
    good = [{"child": "first", "file": "children/a.py", "outputs": [fingerprint(a)]},
            {"child": "second", "file": "children/b.py", "outputs": [fingerprint(b + 1)]}]
    found = numerics.first_divergence(orig, good, 1e-5, 1e-6)
    assert found["child"] == "second" and "last matching child is `first`" in found["message"]
    all_match = [{"child": "first", "file": "children/a.py", "outputs": [fingerprint(a)]}]
    assert numerics.first_divergence(orig, all_match, 1e-5, 1e-6)["child"] is None


def test_equal_infinities_agree_and_opposite_ones_do_not() -> None:
    """-inf from attention masking must compare equal to -inf, never to +inf."""
    from verifier.judge.numerics import tensor_diff

    orig = torch.tensor([1.0, -float("inf"), 2.0])
    assert tensor_diff(orig, orig.clone(), 1e-5, 1e-6, "out").passed
    flipped = orig.clone()
    flipped[1] = float("inf")
    assert not tensor_diff(orig, flipped, 1e-5, 1e-6, "out").passed
