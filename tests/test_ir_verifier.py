"""The IR verifier, rule by rule: each invariant of hdecomp_ir/ir_verifier.py is broken on purpose
in a valid IR (one minimal mutation of the Component tree) and must be reported with its rule
name, the component at fault, what is wrong and the IR printed around it; `build_ir` must name
the pass after which an invariant broke.

The IR is the full pipeline's result for tests/passes/models/stacked_blocks.py:

    root [0..17] model
      k0 [0..0] stem Linear
      l1 [1..7] Block: k1 LayerNorm, l1.f1 [2..3] (k2 Linear, k3 relu),
                       l1.f2 [4..6] (k4 Linear, k5 tanh, k6 sigmoid), residual add at 7
      l2 [8..14] Block (as l1)
      l3 [15..17] head chunk: k13 Linear, k14 tanh, k15 sigmoid
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import passes
from hdecomp_ir import ir_verifier
from hdecomp_ir.errors import IRInvariantError
from hdecomp_ir.ir import IR, Component
from hdecomp_ir.ir_verifier import RULES, verify_ir
from hdecomp_ir.printer import print_component
from hdecomp_ir.spec import Level
from workflow.lower import build_ir

MODEL = Path(__file__).resolve().parent / "passes" / "models" / "stacked_blocks.py"
FIX = "this is a bug in a pass; run `hdecomp ir` to see the IR"


@pytest.fixture(scope="module")
def valid_ir() -> IR:
    return build_ir(MODEL, verify_each=True)


@pytest.fixture
def ir(valid_ir: IR) -> IR:
    """A private copy of the component tree over the shared graph: mutations stay in one test."""
    return dataclasses.replace(valid_ir, root=copy.deepcopy(valid_ir.root))


def comp(ir: IR, cid: str) -> Component:
    return next(c for c in ir.root.walk() if c.cid == cid)


def broken_rules(ir: IR) -> set[str]:
    broken = set()
    for rule in RULES:
        try:
            rule(ir)
        except IRInvariantError:
            broken.add(rule.__name__)
    return broken


# -- the breakages --------------------------------------------------------------------------------

def _stretch_past_parent(ir: IR) -> Component:
    # l1 gives its trailing residual add (op 7, plumbing) to the root and l1.f2 reaches for it:
    # only plumbing changes hands, so no other rule can object
    comp(ir, "l1").end = 6
    fusion = comp(ir, "l1.f2")
    fusion.end = 7
    return fusion


def _overlap_sibling(ir: IR) -> Component:
    layer = comp(ir, "l2")
    layer.start = comp(ir, "l1").end           # [7..14]: shares l1's residual add (plumbing)
    return layer


def _child_at_parent_level(ir: IR) -> Component:
    fusion = comp(ir, "l1.f1")
    fusion.level = Level.LAYER
    return fusion


def _kernel_takes_neighbour_op(ir: IR) -> Component:
    comp(ir, "k2").end = comp(ir, "k3").start   # k2 [2..3] also owns k3's relu
    return comp(ir, "k3")


def _drop_stem_kernel(ir: IR) -> Component:
    ir.root.children = [c for c in ir.root.children if c.cid != "k0"]
    return ir.root


def _drop_sigmoid_kernel(ir: IR) -> Component:
    fusion = comp(ir, "l1.f2")
    fusion.children = [c for c in fusion.children if c.cid != "k6"]
    return fusion


def _empty_fusion_over_plumbing(ir: IR) -> Component:
    # over the residual add (plumbing): owns no compute op, so only the leaf rule can object
    layer = comp(ir, "l1")
    empty = Component(cid="l1.f3", level=Level.FUSION, start=7, end=7, label="add",
                      origin="fusion")
    layer.children.append(empty)
    return empty


def _head_takes_block_name(ir: IR) -> Component:
    head = comp(ir, "l3")
    head.name = comp(ir, "l1").name
    return head


@dataclass(frozen=True)
class Breakage:
    rule: str
    mutate: Callable[[IR], Component]    # returns the component the report must name
    message: str                         # first line of the report
    # Rules that cannot hold either: two kernels owning one op always overlap somewhere, and a
    # compute op outside every kernel always sits directly in a non-kernel parent.
    also: frozenset[str] = frozenset()


BREAKAGES = {
    "children_nest-outside": Breakage(
        "children_nest", _stretch_past_parent,
        "IR invariant 'children_nest' broken at l1.f2: range outside parent l1"),
    "children_nest-overlap": Breakage(
        "children_nest", _overlap_sibling,
        "IR invariant 'children_nest' broken at l2: overlaps or precedes its previous sibling"),
    "levels_decrease": Breakage(
        "levels_decrease", _child_at_parent_level,
        "IR invariant 'levels_decrease' broken at l1.f1: layer under layer l1"),
    "compute_owned_by_kernels-twice": Breakage(
        "compute_owned_by_kernels", _kernel_takes_neighbour_op,
        "IR invariant 'compute_owned_by_kernels' broken at k3: op relu also in k2",
        frozenset({"children_nest"})),
    "compute_owned_by_kernels-none": Breakage(
        "compute_owned_by_kernels", _drop_stem_kernel,
        "IR invariant 'compute_owned_by_kernels' broken at root: compute op linear has no kernel",
        frozenset({"plumbing_in_parents"})),
    "plumbing_in_parents": Breakage(
        "plumbing_in_parents", _drop_sigmoid_kernel,
        "IR invariant 'plumbing_in_parents' broken at l1.f2: compute op sigmoid outside any child",
        frozenset({"compute_owned_by_kernels"})),
    "leaves_are_kernels": Breakage(
        "leaves_are_kernels", _empty_fusion_over_plumbing,
        "IR invariant 'leaves_are_kernels' broken at l1.f3: fusion without children"),
    "names_unique": Breakage(
        "names_unique", _head_takes_block_name,
        "IR invariant 'names_unique' broken at l3: name block_4_fp32 used for two different "
        "workloads"),
}


def test_the_unbroken_ir_satisfies_every_rule(ir: IR) -> None:
    assert broken_rules(ir) == set()
    verify_ir(ir)


def test_every_rule_is_registered_and_has_a_breakage() -> None:
    defined = {name for name, fn in inspect.getmembers(ir_verifier, inspect.isfunction)
               if fn.__module__ == ir_verifier.__name__ and not name.startswith("_")
               and name != "verify_ir"}
    registered = {rule.__name__ for rule in RULES}
    assert defined == registered, "a rule function that verify_ir never runs, or the reverse"
    assert {b.rule for b in BREAKAGES.values()} == registered


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_each_rule_reports_its_breakage(ir: IR, case: str) -> None:
    breakage = BREAKAGES[case]
    at = breakage.mutate(ir)
    with pytest.raises(IRInvariantError) as info:
        getattr(ir_verifier, breakage.rule)(ir)
    first, *context = info.value.what.splitlines()
    assert first == breakage.message
    # the IR around the fault, as the printer shows it
    assert context == print_component(ir, at)[:20]
    assert info.value.fix == FIX
    # the mutation breaks its own rule, not some other one by accident
    assert broken_rules(ir) == {breakage.rule} | breakage.also
    with pytest.raises(IRInvariantError):
        verify_ir(ir)


def test_build_ir_names_the_pass_after_which_an_invariant_broke(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def lift_first_kernel(ir: IR) -> IR:
        ir.root.children[0].level = ir.root.level
        return ir

    pipeline = list(passes.PIPELINE)
    at = passes.PASS_NAMES.index("form_kernels") + 1
    pipeline.insert(at, ("lift_first_kernel", lift_first_kernel))
    monkeypatch.setattr(passes, "PIPELINE", pipeline)
    with pytest.raises(IRInvariantError) as info:
        build_ir(MODEL, on_pass=lambda name, _: seen.append(name), verify_each=True)
    assert info.value.what.splitlines()[0] == (
        "after pass 'lift_first_kernel': IR invariant 'levels_decrease' broken at k0: "
        "model under model root")
    # the passes before it ran and verified; nothing after it ran
    assert seen == ["input", *passes.PASS_NAMES[:at]]
    assert info.value.fix == FIX


def test_build_ir_without_verify_each_does_not_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same broken pass, last in the pipeline: only verify_each can catch it."""
    def rename_head_like_a_block(ir: IR) -> IR:
        _head_takes_block_name(ir)
        return ir

    monkeypatch.setattr(passes, "PIPELINE",
                        [*passes.PIPELINE, ("rename_head", rename_head_like_a_block)])
    ir = build_ir(MODEL, verify_each=False)
    assert broken_rules(ir) == {"names_unique"}
    with pytest.raises(IRInvariantError, match=r"^after pass 'rename_head': IR invariant "
                                               r"'names_unique' broken at l3"):
        build_ir(MODEL, verify_each=True)
