"""The one arithmetic policy (issue 12): what a refactored parent may compute, read by lowering
(`hdecomp_ir.ir`) and by the verifier's run-time guard alike.

The policy functions are checked directly; the guard is run in-process on small parents so each
rule is seen on the aten ops it judges (the corpus checks the same through the whole verifier).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

from hdecomp_ir.policy import (OpKind, arith_is_compute, is_compute_in_parent,
                               is_plumbing_exponent, op_info)
from verifier.runtime.instrument import CHILD, Frame, RefactoredGuard, Scope, attach_hooks, storage_key


def test_products_of_two_activations_are_compute_in_a_parent() -> None:
    assert arith_is_compute(reads_weight=False, multiplicative=True, activations=2)
    assert not arith_is_compute(reads_weight=False, multiplicative=True, activations=1)
    assert not arith_is_compute(reads_weight=False, multiplicative=False, activations=2)  # residual
    assert is_compute_in_parent(OpKind.ARITH, reads_weight=False, name="div", activations=2)
    assert not is_compute_in_parent(OpKind.ARITH, reads_weight=False, name="add", activations=2)
    assert is_compute_in_parent(OpKind.ARITH, reads_weight=True, name="add", activations=1)


def test_pow_by_a_number_and_ops_on_constants_stay_plumbing() -> None:
    assert not is_compute_in_parent(OpKind.COMPUTE, reads_weight=False, name="pow",
                                    scalar_exponent=True)
    assert is_compute_in_parent(OpKind.COMPUTE, reads_weight=False, name="pow")
    assert is_compute_in_parent(OpKind.COMPUTE, reads_weight=False, name="exp",
                                scalar_exponent=True)
    assert not is_compute_in_parent(OpKind.COMPUTE, reads_weight=False, name="eq",
                                    constant_inputs=True)
    assert is_compute_in_parent(OpKind.COMPUTE, reads_weight=True, name="eq",
                                constant_inputs=True)


def test_only_whole_powers_and_no_rounding_stay_plumbing() -> None:
    assert is_plumbing_exponent(2) and is_plumbing_exponent(3.0)
    assert not any(is_plumbing_exponent(e) for e in (0.5, -1, -0.5, 0, True, None))
    assert op_info(torch.ops.aten.div.Tensor_mode).kind is OpKind.COMPUTE   # x // y
    assert op_info(torch.ops.aten.div.Tensor).kind is OpKind.ARITH


class _Child(nn.Module):
    """A stand-in child: returns its parameter as asked (`mode`)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.w = nn.Parameter(torch.randn(1, 4, 8))

    def forward(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if self.mode == "clone":
            return self.w.clone()
        if self.mode == "copy":
            assert out is not None
            out.copy_(self.w)
            return x
        return self.w.expand(x.shape[0], -1, -1)


class _Parent(nn.Module):
    def __init__(self, body: str, mode: str = "view") -> None:
        super().__init__()
        self.child = _Child(mode)
        self.body = body
        self.register_buffer("bias", torch.tril(torch.ones(4, 4)).view(1, 4, 4))
        self.register_buffer("table", torch.randn(4, 8))
        self.register_buffer("scratch", torch.zeros(1, 4, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.body
        if b == "residual":
            return x + x * 0.5
        if b == "product":
            return x * x
        if b == "quotient":
            return x / x.sum(-1, keepdim=True).detach()
        if b == "pow":
            return (x - 1.0) ** 2
        if b == "sqrt":
            return x ** 0.5
        if b == "floor":
            return x // 1
        if b == "mask":
            t = x.shape[1]
            scores = x[..., :4]
            return scores.masked_fill(self.bias[:, :t, :t] == 0, float("-inf")) * self.bias
        if b == "table":
            return x * self.table
        if b == "relu":
            return x * (x > 0)
        if b == "cat":
            return torch.cat([self.child(x), x], dim=1) + self.child(x).repeat(1, 2, 1)
        if b == "scaled":
            return x * self.child(x, self.scratch)
        if b == "buffer":
            h = self.child(x, self.scratch)
            return h * self.scratch
        raise AssertionError(b)


def _violations(body: str, mode: str = "view") -> set[str]:
    model = _Parent(body, mode).eval()
    scope = Scope()
    params = {storage_key(p): n for n, p in model.named_parameters()}
    scope.param_keys = set(params)
    scope.weight_keys = set(params) | {storage_key(b) for _, b in model.named_buffers()}

    def classify(name: str, mod: nn.Module, inside: bool) -> Frame | None:
        return Frame(CHILD, name, "Child", "children/c.py", "kernel") if name == "child" else None

    attach_hooks(model, scope, classify)
    guard = RefactoredGuard(scope, params, [Path(__file__).parent])
    x = torch.randn(2, 4, 8)  # made outside the guard, as the worker's inputs are
    with torch.no_grad(), guard:
        model(x)
    return {f"{v['rule']}:{v['op'].split('.')[1]}" for v in guard.violations.values()}


@pytest.mark.parametrize("body", ["residual", "pow", "mask", "cat"])
def test_honest_parent_arithmetic_is_accepted(body: str) -> None:
    assert _violations(body) == set()


@pytest.mark.parametrize("body, expected", [
    ("product", "compute_outside_child:mul"),
    ("quotient", "compute_outside_child:div"),
    ("table", "compute_outside_child:mul"),     # a constant table is no mask: RoPE's cos/sin
    ("relu", "compute_outside_child:gt"),
    ("sqrt", "compute_outside_child:pow"),       # a fractional power is a sqrt
    ("floor", "compute_outside_child:floor_divide"),  # x // 1 is a floor
])
def test_hidden_compute_is_flagged(body: str, expected: str) -> None:
    assert expected in _violations(body)


def test_a_laundered_parameter_is_still_a_parameter() -> None:
    assert "parameter_outside_child:mul" in _violations("scaled", mode="clone")
    assert "parameter_outside_child:mul" in _violations("buffer", mode="copy")
