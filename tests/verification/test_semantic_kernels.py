"""Kernel honesty on real traces: the op counter of the worker (`verifier.runtime.instrument`) run
in-process on small kernel modules. A hand-written function of the policy's table is one op
whatever its module is called; anything else counts its ops.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from verifier.runtime.instrument import CHILD, Frame, OpCounter, Scope, attach_hooks, frame_for


def _count(kernel: nn.Module, *inputs: torch.Tensor) -> tuple[int, list[str], list[str]]:
    """(logical op count, ops, escapes) of one call of `kernel` as a kernel child."""
    scope = Scope()
    params = {p.untyped_storage().data_ptr() for p in kernel.parameters()}
    scope.param_keys = set(params)
    scope.weight_keys = params | {b.untyped_storage().data_ptr() for b in kernel.buffers()}

    def classify(name: str, module: nn.Module, inside: bool) -> Frame | None:
        if not name:
            return Frame(CHILD, "<kernel>", type(module).__name__, "k.py", "kernel")
        return frame_for(name, module, True)

    attach_hooks(kernel, scope, classify)
    escapes: list[str] = []
    with torch.no_grad(), OpCounter(scope, on_child_escape=escapes.append):
        kernel(*inputs)
    (call,) = scope.calls
    return call.count, call.ops, escapes


class _Fn(nn.Module):
    """A kernel module around a function of (module, x)."""

    def __init__(self, fn, d: int = 8) -> None:  # noqa: ANN001 - a test lambda
        super().__init__()
        self.fn = fn
        self.weight = nn.Parameter(torch.rand(d) + 0.5)
        self.bias = nn.Parameter(torch.randn(d))
        self.w1 = nn.Parameter(torch.randn(8, 8))
        self.w2 = nn.Parameter(torch.randn(8, 8))
        self.g = nn.Parameter(torch.tensor(math.sqrt(d)))
        self.register_buffer("cos", torch.rand(4, d))
        self.register_buffer("sin", torch.rand(4, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self, x)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def _layer_norm(m: _Fn, x: torch.Tensor) -> torch.Tensor:
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * m.weight + m.bias


HONEST = {
    "rms_norm": lambda m, x: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * m.weight,
    "layer_norm": _layer_norm,
    "scale_norm": lambda m, x: x * m.g / x.norm(dim=-1, keepdim=True).clamp(min=1e-5),
    "gelu_erf": lambda m, x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "gelu_tanh": lambda m, x: 0.5 * x * (1.0 + torch.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    "silu": lambda m, x: x * torch.sigmoid(x),
    "mish": lambda m, x: x * torch.tanh(F.softplus(x)),
    "softmax": lambda m, x: (lambda e: e / e.sum(-1, keepdim=True))(
        (x - x.amax(-1, keepdim=True)).exp()),
    "log_softmax": lambda m, x: x - torch.logsumexp(x, -1, keepdim=True),
    "rope": lambda m, x: x * m.cos + _rotate_half(x) * m.sin,
    "mse": lambda m, x: ((x - m.bias) ** 2).mean(),
    "hinge": lambda m, x: torch.clamp(1 - x * m.bias, min=0).mean(),
    "cross_entropy": lambda m, x: -(F.log_softmax(x, -1) * m.weight).sum(-1).mean(),
    "linear_by_hand": lambda m, x: x @ m.w1.t() + m.bias,
}

CHEATS = {
    "norm_and_activation": lambda m, x: torch.tanh(
        x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * m.weight),
    "residual_in_a_matmul": lambda m, x: x @ m.w1 + x,
    "precombined_weights": lambda m, x: x @ (m.w1 @ m.w2),
    "two_matmuls": lambda m, x: (x @ m.w1) @ m.w2,
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_hand_written_function_is_one_op(name: str) -> None:
    count, ops, escapes = _count(_Fn(HONEST[name]), torch.randn(2, 4, 8))
    assert count == 1, (name, ops)
    assert not escapes


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_other_bodies_count_their_ops(name: str) -> None:
    count, ops, _ = _count(_Fn(CHEATS[name]), torch.randn(2, 4, 8))
    assert count >= 2, (name, ops)


def test_multihead_attention_counts_its_ops() -> None:
    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn(x, x, x, need_weights=False)[0]

    count, ops, _ = _count(Attn(), torch.randn(2, 4, 8))
    assert count == 5 and "softmax" in ops, ops


def test_activation_values_taken_to_python_are_an_escape() -> None:
    def python_relu(m: _Fn, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([max(v, 0.0) for v in x.flatten().tolist()]).view_as(x)

    _, _, escapes = _count(_Fn(python_relu), torch.randn(2, 4, 8))
    assert escapes == ["tolist"]
    # integer lengths (pack_padded_sequence) and a weight's value are no activation values
    _, _, escapes = _count(_Fn(lambda m, x: x * int(torch.tensor(3).item()) * m.g.item()),
                           torch.randn(2, 4, 8))
    assert escapes == []


def test_weights_combined_as_the_original_does_are_honest() -> None:
    from verifier.judge.verdict import _combines_weights_as_original

    count, ops, _ = _count(_Fn(lambda m, x: x @ (m.w1 + m.w2 @ m.w1).t()), torch.randn(2, 4, 8))
    assert count == 2 and ops == ["matmul@w", "matmul"], ops
    # LoRA's `w + b @ a` in the original: the kernel does what the model does
    assert _combines_weights_as_original(ops, ["matmul@w", "matmul", "relu"])
    # an original with two separate projections: the step merged two kernels into one
    assert not _combines_weights_as_original(ops, ["matmul", "matmul"])
    assert not _combines_weights_as_original(["matmul@w", "matmul", "relu"], ["matmul@w"])
