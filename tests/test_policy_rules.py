"""The op table's shared rules (`hdecomp_ir.policy`): semantic kernels and arithmetic.

The generator and the verifier both read these rules; the tests pin what each side relies on:
every semantic class name the generator accepts stays semantic once it is a kernel file's name,
the op budget and the anchor condition hold on both sides, and arithmetic in a parent is plumbing
unless it reads a weight.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hdecomp_ir.ir import snake_case
from hdecomp_ir.policy import (SEMANTIC_MAX_OPS, OpKind, arith_is_compute, counts_as_op,
                               is_compute_in_parent, is_semantic_class_name, is_semantic_file_name,
                               is_semantic_module, semantic_is_one_op)

SEMANTIC_CLASSES = ["RMSNorm", "LayerNorm2d", "GroupNormAct", "L2Norm", "ScaleNorm", "NewGELU",
                    "QuickGELU", "SiLU", "Swish", "HardSwish", "Mish", "RotaryEmbedding", "RoPE",
                    "SoftMax", "SoftPlus", "Sigmoid", "ReLUSquared", "Tanh", "GELUActivation",
                    "Rms_Norm"]
OTHER_CLASSES = ["Block", "BatchNorm", "InstanceNorm", "LayerScale", "ELU", "LogSumExp",
                 "CrossEntropy", "Normalize", "Drop_Embedding"]


@pytest.mark.parametrize("name", SEMANTIC_CLASSES)
def test_semantic_class_stays_semantic_as_a_file_name(name: str) -> None:
    assert is_semantic_class_name(name)
    # A kernel file is named after the snake case of its class plus the workload.
    assert is_semantic_file_name(f"{snake_case(name)}_1024_fp32")
    assert is_semantic_file_name(snake_case(name))


@pytest.mark.parametrize("name", OTHER_CLASSES)
def test_other_names_are_not_semantic(name: str) -> None:
    assert not is_semantic_class_name(name)


def test_semantic_module_is_a_custom_leaf() -> None:
    assert is_semantic_module("model.RMSNorm", has_submodules=False)
    assert not is_semantic_module("model.RMSNorm", has_submodules=True)
    assert not is_semantic_module("torch.nn.modules.activation.GELU", has_submodules=False)
    assert not is_semantic_module("model.Outer.Block", has_submodules=False)


def test_semantic_budget_and_anchors() -> None:
    assert semantic_is_one_op(SEMANTIC_MAX_OPS, 0)
    assert not semantic_is_one_op(SEMANTIC_MAX_OPS + 1, 0)
    assert not semantic_is_one_op(3, 1)
    assert not semantic_is_one_op(0, 0)


def test_arithmetic_in_a_parent_is_plumbing_unless_it_reads_a_weight() -> None:
    assert not is_compute_in_parent(OpKind.ARITH, reads_weight=False)
    assert is_compute_in_parent(OpKind.ARITH, reads_weight=True)
    assert not is_compute_in_parent(OpKind.PLUMBING, reads_weight=False)
    assert is_compute_in_parent(OpKind.PLUMBING, reads_weight=True)
    assert is_compute_in_parent(OpKind.COMPUTE, reads_weight=False)
    assert arith_is_compute(reads_weight=False, sole_workload=True)


def test_arithmetic_in_a_child_counts_between_two_tensors() -> None:
    assert counts_as_op(OpKind.ARITH, reads_weight=False, tensor_operands=2)
    assert not counts_as_op(OpKind.ARITH, reads_weight=False, tensor_operands=1)
    assert counts_as_op(OpKind.ARITH, reads_weight=True, tensor_operands=1)
    assert not counts_as_op(OpKind.PLUMBING, reads_weight=True, tensor_operands=1, is_view=True)
    assert counts_as_op(OpKind.PLUMBING, reads_weight=True, tensor_operands=2)


BIG_ACTIVATION = '''
import torch
import torch.nn as nn


class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(16, 16))

    def forward(self, x):
{body}
        return x


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = {name}()

    def forward(self, x):
        return self.act(x)


def get_inputs():
    return [torch.randn(4, 16)]


def get_init_inputs():
    return []
'''


@pytest.mark.parametrize("body, semantic", [
    ("        x = torch.tanh(x) * x\n" * 3, True),                        # 6 logical ops
    ("        x = torch.tanh(x) * x\n" * (SEMANTIC_MAX_OPS // 2 + 1), False),  # over the budget
    ("        x = torch.tanh(x @ self.w)\n", False),                       # runs an anchor
])
def test_generator_keeps_a_semantic_module_whole_only_within_the_rule(
        tmp_path: Path, body: str, semantic: bool) -> None:
    from workflow.lower import build_ir

    path = tmp_path / "act.py"
    path.write_text(BIG_ACTIVATION.format(name="TanhActivation", body=body))
    ir = build_ir(path)
    origins = {k.origin for k in ir.kernels()}
    assert ("kernel-semantic" in origins) == semantic, origins
