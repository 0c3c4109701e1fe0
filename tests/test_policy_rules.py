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
                               is_builtin_leaf, is_compute_in_parent, is_semantic_class_name,
                               is_semantic_module, semantic_function, semantic_is_one_op)

SEMANTIC_CLASSES = ["RMSNorm", "LayerNorm2d", "GroupNormAct", "L2Norm", "ScaleNorm", "NewGELU",
                    "QuickGELU", "SiLU", "Swish", "HardSwish", "Mish", "RotaryEmbedding", "RoPE",
                    "SoftMax", "SoftPlus", "Sigmoid", "ReLUSquared", "Tanh", "GELUActivation",
                    "Rms_Norm"]
OTHER_CLASSES = ["Block", "BatchNorm", "InstanceNorm", "LayerScale", "ELU", "LogSumExp",
                 "CrossEntropy", "Normalize", "Drop_Embedding"]


@pytest.mark.parametrize("name", SEMANTIC_CLASSES)
def test_generator_names_semantic_classes(name: str) -> None:
    assert is_semantic_class_name(name)


@pytest.mark.parametrize("name", OTHER_CLASSES)
def test_other_names_are_not_semantic(name: str) -> None:
    assert not is_semantic_class_name(name)


def test_semantic_module_is_a_custom_leaf_whatever_its_name() -> None:
    assert is_semantic_module("model.RMSNorm", has_submodules=False)
    assert is_semantic_module("model.Normalize", has_submodules=False)
    assert not is_semantic_module("model.RMSNorm", has_submodules=True)
    assert not is_semantic_module("torch.nn.modules.activation.GELU", has_submodules=False)


@pytest.mark.parametrize("tokens, anchors, function", [
    (["pow", "mean", "rsqrt", "mul", "mul@w"], 0, "rms_norm"),
    (["mean", "sub", "pow", "mean", "rsqrt", "mul", "mul@w", "add@w"], 0, "layer_norm"),
    (["var", "sub", "rsqrt", "mul", "mul@w", "add@w"], 0, "layer_norm"),
    (["mul@w", "norm", "clamp", "div"], 0, "scale_norm"),
    (["linalg_vector_norm", "clamp_min", "div"], 0, "l2_normalize"),
    (["log", "kl_div"], 0, "kl_div"),  # F.kl_div(torch.log(p), q): the log is the loss's
    (["erf", "mul"], 0, "gelu_erf"),
    (["pow", "add", "tanh", "mul"], 0, "gelu_tanh"),
    (["sigmoid", "mul"], 0, "silu"),
    (["exp", "sum", "div"], 0, "softmax"),
    (["mul", "mul", "add"], 0, "rotary_embedding"),
    (["mul@w", "mul@w", "add"], 0, "rotary_embedding"),  # cos and sin buffers
    (["sub", "pow", "mean"], 0, "mse_loss"),
    (["matmul", "add@w"], 1, "linear"),
    (["relu"], 0, "relu"),
])
def test_semantic_functions_are_recognised_on_their_ops(tokens: list[str], anchors: int,
                                                        function: str) -> None:
    assert semantic_function(tokens, anchors) == function


@pytest.mark.parametrize("tokens, anchors", [
    (["nn.Linear", "gelu", "nn.Linear"], 2),        # a layer in a kernel named rms_norm
    (["matmul", "add"], 1),                          # a residual add folded into a matmul
    (["matmul", "matmul"], 2),                       # x @ (w1 @ w2)
    (["pow", "mean", "rsqrt", "mul", "relu"], 0),    # an op no norm uses
    (["exp", "sum", "div"] * 3, 0),                  # over the budget
    ([], 0),
])
def test_other_op_bodies_are_no_semantic_function(tokens: list[str], anchors: int) -> None:
    assert semantic_function(tokens, anchors) is None
    assert not semantic_is_one_op(tokens, anchors)
    assert len(tokens) <= 3 * SEMANTIC_MAX_OPS


def test_builtin_leaf_by_class_identity() -> None:
    import torch.nn as nn
    from torch.nn.utils.parametrizations import weight_norm

    class Lookalike(nn.Linear):
        def forward(self, x):  # type: ignore[override]
            return super().forward(x).relu()

    Lookalike.__module__, Lookalike.__qualname__ = "torch.nn.modules.linear", "Linear"
    fake = Lookalike(2, 2)
    fake.parametrizations = nn.ModuleDict()
    assert is_builtin_leaf(nn.Linear(2, 2)) and is_builtin_leaf(weight_norm(nn.Linear(2, 2)))
    assert not is_builtin_leaf(fake)
    assert not is_builtin_leaf(nn.MultiheadAttention(4, 2))  # submodules: counted by its ops


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


@pytest.mark.parametrize("name,expected", [
    ("BasicBlock", "basic_block"), ("MultiheadAttention", "multihead_attention"),
    ("ViTModel", "vit_model"), ("DeiTLayer", "deit_layer"), ("LlamaRMSNorm", "llama_rms_norm"),
    ("GPT2Block", "gpt2_block"), ("HTTPServer", "http_server"), ("T5Block", "t5_block"),
])
def test_snake_case_keeps_a_trailing_capital_with_its_word(name: str, expected: str) -> None:
    """Component file names come from class names; `ViTModel` must not become `vi_t_model`."""
    assert snake_case(name) == expected


@pytest.mark.parametrize("model,stem", [
    ("25_GRU", "gru_128x256_3layers_fp32"),
    ("26_GRUBidirectional", "gru_128x192_2layers_bidirectional_fp32"),
    ("39_LSTMDroppedHeadCellState", "lstm_64x96_2layers_fp32"),
])
def test_recurrent_kernels_are_named_by_sizes_layers_and_directions(model: str, stem: str) -> None:
    """Two GRUs with the same first weight but other depths or directions are other workloads."""
    from pathlib import Path

    from hdecomp_ir.naming import kernel_stem
    from workflow.lower import build_ir

    ir = build_ir(Path(__file__).resolve().parent.parent / "data" / "level3" / f"{model}.py")
    kernels = [k for k in ir.root.walk() if k.is_kernel]
    assert stem in [kernel_stem(ir, k) for k in kernels]
