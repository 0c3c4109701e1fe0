"""Weight transfer planning and re-randomization, on metadata and small modules."""

from __future__ import annotations

import torch
import torch.nn as nn

from verifier.weights import (TensorMeta, collect_tensors, plan_transfer,
                                             reinitialize)


def meta(name: str, shape: tuple[int, ...], kind: str = "param", *aliases: str,
         dtype: str = "float32") -> TensorMeta:
    return TensorMeta((name, *aliases), shape, dtype, kind, dtype.startswith(("float", "bfloat")))


def test_exact_names_win_over_order() -> None:
    orig = [meta("a.weight", (4, 4)), meta("b.weight", (4, 4))]
    ref = [meta("b.weight", (4, 4)), meta("a.weight", (4, 4))]
    plan = plan_transfer(orig, ref, None)
    assert plan.assignments == {"b.weight": ["b.weight"], "a.weight": ["a.weight"]}
    assert set(plan.sources.values()) == {"exact"}


def test_structural_matching_follows_order_and_shape() -> None:
    orig = [meta("fc1.weight", (16, 8)), meta("fc1.bias", (16,)), meta("fc2.weight", (8, 16)),
            meta("fc2.bias", (8,))]
    ref = [meta("up.linear.weight", (16, 8)), meta("up.linear.bias", (16,)),
           meta("down.linear.weight", (8, 16)), meta("down.linear.bias", (8,))]
    plan = plan_transfer(orig, ref, None)
    assert plan.assignments["fc2.bias"] == ["down.linear.bias"]
    assert plan.method() == "structural" and not plan.unmapped_refactored


def test_weight_map_with_list_values_ties_one_tensor_to_many() -> None:
    orig = [meta("emb.weight", (16, 8), "param", "head.weight")]
    ref = [meta("e.weight", (16, 8)), meta("h.weight", (16, 8))]
    plan = plan_transfer(orig, ref, {"emb.weight": ["e.weight", "h.weight"]})
    assert plan.assignments == {"emb.weight": ["e.weight", "h.weight"]}
    assert not plan.errors and not plan.unmapped_refactored


def test_tied_original_fills_untied_copies_structurally() -> None:
    orig = [meta("emb.weight", (16, 8), "param", "head.weight")]
    ref = [meta("e.weight", (16, 8)), meta("h.weight", (16, 8))]
    plan = plan_transfer(orig, ref, None)
    assert plan.assignments == {"emb.weight": ["e.weight", "h.weight"]}


def test_bad_weight_map_entries_are_named() -> None:
    orig = [meta("a.weight", (4, 4)), meta("a.running_mean", (4,), "buffer")]
    ref = [meta("x.weight", (4, 4)), meta("x.bias", (4,))]
    plan = plan_transfer(orig, ref, {"a.wieght": ["x.weight"], "a.weight": ["x.bias"],
                                     "a.running_mean": ["x.bias"]})
    messages = [e.message for e in plan.errors]
    assert any("'a.wieght' is not a parameter" in m and "did you mean 'a.weight'" in m for m in messages)
    assert any("shape [4, 4] vs [4]" in m for m in messages)
    assert any("a buffer cannot go into a param" in m for m in messages)
    assert all(e.rule == "weight_map_entry" and e.file == "weight_map.json" for e in plan.errors)


def test_conflicting_map_entries() -> None:
    orig = [meta("a", (4,)), meta("b", (4,))]
    ref = [meta("x", (4,))]
    plan = plan_transfer(orig, ref, {"a": ["x"], "b": ["x"]})
    assert [e.rule for e in plan.errors] == ["weight_conflict"]


def test_unused_original_tensors_are_not_required() -> None:
    orig = [meta("used", (4,)), meta("unused", (3,))]
    ref = [meta("r", (4,))]
    plan = plan_transfer(orig, ref, None, used_original=["used"])
    assert plan.unmapped_original == []
    plan = plan_transfer(orig, ref, None, used_original=["used", "unused"])
    assert plan.unmapped_original == ["unused"]


def test_parameters_never_land_in_buffers() -> None:
    plan = plan_transfer([meta("bias", (4,))], [meta("shift", (4,), "buffer")], None)
    assert plan.unmapped_refactored == ["shift"] and plan.unmapped_original == ["bias"]


def test_collect_tensors_merges_tied_and_keeps_non_persistent_buffers() -> None:
    model = nn.Module()
    model.emb = nn.Embedding(5, 3)
    model.head = nn.Linear(3, 5, bias=False)
    model.head.weight = model.emb.weight
    model.register_buffer("mask", torch.ones(2, 2), persistent=False)
    metas, tensors = collect_tensors(model)
    names = {m.names for m in metas}
    assert ("emb.weight", "head.weight") in names
    mask = next(m for m in metas if m.name == "mask")
    assert mask.kind == "buffer" and not mask.persistent
    assert tensors["mask"] is model.mask


def test_reinitialize_changes_floats_and_keeps_counters_masks_and_variances() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.LayerNorm(4))
    model.register_buffer("causal", torch.tril(torch.ones(3, 3)))
    model.register_buffer("index", torch.arange(3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metas, tensors = collect_tensors(model)
    reinitialize(metas, tensors, seed=1)
    after = model.state_dict()
    for name in ("0.weight", "0.bias", "1.weight", "1.running_mean", "2.weight", "2.bias"):
        assert not torch.equal(before[name], after[name]), name
    assert torch.equal(before["1.num_batches_tracked"], after["1.num_batches_tracked"])
    assert torch.equal(before["causal"], after["causal"])
    assert torch.equal(before["index"], after["index"])
    assert bool((after["1.running_var"] > 0).all())
    # Same seed, same values: the re-randomization is the verifier's, and reproducible.
    again = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.LayerNorm(4))
    again.register_buffer("causal", torch.tril(torch.ones(3, 3)))
    again.register_buffer("index", torch.arange(3))
    again.load_state_dict(before)
    metas2, tensors2 = collect_tensors(again)
    reinitialize(metas2, tensors2, seed=1)
    assert all(torch.equal(after[k], v) for k, v in again.state_dict().items())


def test_reinitialize_works_a_slice_at_a_time(monkeypatch) -> None:
    """Large weights are redrawn in chunks (a whole-tensor float32 copy of a gpt-oss expert
    weight, with its mask and fresh values, asked for 25 GB): statistics and masks are still
    those of the whole tensor, and the draw is the same on every run."""
    import verifier.weights as weights

    monkeypatch.setattr(weights, "REINIT_CHUNK", 1000)

    def build() -> nn.Module:
        torch.manual_seed(0)
        model = nn.Linear(100, 50)
        with torch.no_grad():
            model.weight.mul_(40.0)  # std about 2.3, spread over 5 chunks
        model.register_buffer("mask", torch.tensor([0.0, 1.0] * 1500))  # a 0/1 mask over 3 chunks
        return model

    first, second = build(), build()
    std_before = float(first.weight.std())
    for model in (first, second):
        metas, tensors = collect_tensors(model)
        kept = weights.reinitialize(metas, tensors, seed=7)
        assert "mask" in kept
    assert torch.equal(first.weight, second.weight)
    assert torch.equal(first.mask, torch.tensor([0.0, 1.0] * 1500))
    assert abs(float(first.weight.std()) - std_before) < 0.1 * std_before
    assert not torch.equal(first.weight, build().weight)
