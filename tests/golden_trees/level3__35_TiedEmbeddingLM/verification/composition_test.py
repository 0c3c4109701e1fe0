"""End-to-end composition test: the model rebuilt from level-0 kernels only,
compared with the original on the same weights and inputs.

Run it from anywhere with the Python hdecomp is installed in; it prints max_difference=...,
then PASS (exit 0) or FAIL (exit 1).
"""

import importlib.util
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F  # the plumbing between kernels may call F (F.pad, F.softmax)

try:
    # The verifier's own weight transfer and comparison, so that both judge alike.
    from tensors.collect import copy_mapped
    from tensors.compare import compare
except ImportError as err:
    sys.exit(f"FAIL: {err}; run this test with the Python hdecomp is installed in")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "level_0_kernel"))
from add_128x256_fp32 import Model as Add128x256Fp32
from embedding_8192x256_i64_fp32 import Model as Embedding8192x256I64Fp32
from gelu_fp32 import Model as GeluFp32
from layer_norm_256_fp32 import Model as LayerNorm256Fp32
from linear_1024x256_fp32 import Model as Linear1024x256Fp32
from linear_256x1024_fp32 import Model as Linear256x1024Fp32
from linear_256x256_fp32 import Model as Linear256x256Fp32
from linear_256x768_fp32 import Model as Linear256x768Fp32
from linear_256x8192_fp32 import Model as Linear256x8192Fp32
from log_softmax_4x128x8192_fp32 import Model as LogSoftmax4x128x8192Fp32
from scaled_dot_product_attention_4x4x128x64_4x4x128x64_4x4x128x64_fp32 import Model as ScaledDotProductAttention4x4x128x644x4x128x644x4x128x64Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = Embedding8192x256I64Fp32()
        self.add = Add128x256Fp32()
        self.blocks_0_ln1 = LayerNorm256Fp32()
        self.blocks_0_qkv = Linear256x768Fp32()
        self.scaled_dot_product_attention = ScaledDotProductAttention4x4x128x644x4x128x644x4x128x64Fp32()
        self.blocks_0_proj = Linear256x256Fp32()
        self.blocks_0_ln2 = LayerNorm256Fp32()
        self.blocks_0_fc1 = Linear256x1024Fp32()
        self.gelu = GeluFp32()
        self.blocks_0_fc2 = Linear1024x256Fp32()
        self.blocks_1_ln1 = LayerNorm256Fp32()
        self.blocks_1_qkv = Linear256x768Fp32()
        self.scaled_dot_product_attention_1 = ScaledDotProductAttention4x4x128x644x4x128x644x4x128x64Fp32()
        self.blocks_1_proj = Linear256x256Fp32()
        self.blocks_1_ln2 = LayerNorm256Fp32()
        self.blocks_1_fc1 = Linear256x1024Fp32()
        self.gelu_1 = GeluFp32()
        self.blocks_1_fc2 = Linear1024x256Fp32()
        self.ln_f = LayerNorm256Fp32()
        self.head = Linear256x8192Fp32()
        self.log_softmax = LogSoftmax4x128x8192Fp32()

    def forward(self, ids):
        embedding = self.tok(ids)
        add = self.add(embedding)
        layer_norm = self.blocks_0_ln1(add)
        linear = self.blocks_0_qkv(layer_norm)
        split = torch.split(linear, 256, dim=-1)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        view = getitem.view([4, 128, 4, 64])
        transpose = view.transpose(1, 2)
        view_1 = getitem_1.view([4, 128, 4, 64])
        transpose_1 = view_1.transpose(1, 2)
        view_2 = getitem_2.view([4, 128, 4, 64])
        transpose_2 = view_2.transpose(1, 2)
        scaled_dot_product_attention = self.scaled_dot_product_attention(transpose, transpose_1, transpose_2)
        transpose_3 = scaled_dot_product_attention.transpose(1, 2)
        reshape = transpose_3.reshape([4, 128, 256])
        linear_1 = self.blocks_0_proj(reshape)
        add_1 = add.add_(linear_1)
        layer_norm_1 = self.blocks_0_ln2(add_1)
        linear_2 = self.blocks_0_fc1(layer_norm_1)
        gelu = self.gelu(linear_2)
        linear_3 = self.blocks_0_fc2(gelu)
        add_2 = add_1.add_(linear_3)
        layer_norm_2 = self.blocks_1_ln1(add_2)
        linear_4 = self.blocks_1_qkv(layer_norm_2)
        split_1 = torch.split(linear_4, 256, dim=-1)
        getitem_3 = split_1[0]
        getitem_4 = split_1[1]
        getitem_5 = split_1[2]
        view_3 = getitem_3.view([4, 128, 4, 64])
        transpose_4 = view_3.transpose(1, 2)
        view_4 = getitem_4.view([4, 128, 4, 64])
        transpose_5 = view_4.transpose(1, 2)
        view_5 = getitem_5.view([4, 128, 4, 64])
        transpose_6 = view_5.transpose(1, 2)
        scaled_dot_product_attention_1 = self.scaled_dot_product_attention_1(transpose_4, transpose_5, transpose_6)
        transpose_7 = scaled_dot_product_attention_1.transpose(1, 2)
        reshape_1 = transpose_7.reshape([4, 128, 256])
        linear_5 = self.blocks_1_proj(reshape_1)
        add_3 = add_2.add_(linear_5)
        layer_norm_3 = self.blocks_1_ln2(add_3)
        linear_6 = self.blocks_1_fc1(layer_norm_3)
        gelu_1 = self.gelu_1(linear_6)
        linear_7 = self.blocks_1_fc2(gelu_1)
        add_4 = add_3.add_(linear_7)
        layer_norm_4 = self.ln_f(add_4)
        linear_8 = self.head(layer_norm_4)
        log_softmax = self.log_softmax(linear_8)
        return (linear_8, (layer_norm_4, [log_softmax]))


ORIGINAL = HERE.parent / "level_3_model/35_TiedEmbeddingLM.py"
WEIGHT_MAP = {
    "blocks.0.fc1.bias": "blocks_0_fc1.linear.bias",
    "blocks.0.fc1.weight": "blocks_0_fc1.linear.weight",
    "blocks.0.fc2.bias": "blocks_0_fc2.linear.bias",
    "blocks.0.fc2.weight": "blocks_0_fc2.linear.weight",
    "blocks.0.ln1.bias": "blocks_0_ln1.layer_norm.bias",
    "blocks.0.ln1.weight": "blocks_0_ln1.layer_norm.weight",
    "blocks.0.ln2.bias": "blocks_0_ln2.layer_norm.bias",
    "blocks.0.ln2.weight": "blocks_0_ln2.layer_norm.weight",
    "blocks.0.proj.bias": "blocks_0_proj.linear.bias",
    "blocks.0.proj.weight": "blocks_0_proj.linear.weight",
    "blocks.0.qkv.bias": "blocks_0_qkv.linear.bias",
    "blocks.0.qkv.weight": "blocks_0_qkv.linear.weight",
    "blocks.1.fc1.bias": "blocks_1_fc1.linear.bias",
    "blocks.1.fc1.weight": "blocks_1_fc1.linear.weight",
    "blocks.1.fc2.bias": "blocks_1_fc2.linear.bias",
    "blocks.1.fc2.weight": "blocks_1_fc2.linear.weight",
    "blocks.1.ln1.bias": "blocks_1_ln1.layer_norm.bias",
    "blocks.1.ln1.weight": "blocks_1_ln1.layer_norm.weight",
    "blocks.1.ln2.bias": "blocks_1_ln2.layer_norm.bias",
    "blocks.1.ln2.weight": "blocks_1_ln2.layer_norm.weight",
    "blocks.1.proj.bias": "blocks_1_proj.linear.bias",
    "blocks.1.proj.weight": "blocks_1_proj.linear.weight",
    "blocks.1.qkv.bias": "blocks_1_qkv.linear.bias",
    "blocks.1.qkv.weight": "blocks_1_qkv.linear.weight",
    "head.weight": ["tok.embedding.weight", "head.linear.weight"],
    "ln_f.bias": "ln_f.layer_norm.bias",
    "ln_f.weight": "ln_f.layer_norm.weight",
    "pos": "add.pos",
}
RTOL = 0.0001
ATOL = 1e-05


def load_original():
    """The original model's module, imported from its file."""
    spec = importlib.util.spec_from_file_location("composition_original", ORIGINAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    """Run the original and the composed model on the same weights and inputs; do they agree?"""
    original_module = load_original()
    torch.manual_seed(42)
    original = original_module.Model(*original_module.get_init_inputs()).eval()
    composed = ComposedModel().eval()
    copy_mapped(original, composed, WEIGHT_MAP)
    inputs = original_module.get_inputs()
    with torch.no_grad():
        # each model gets its own copy: an in-place op in one must not change the other's inputs
        expected = original(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
        actual = composed(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
    diffs, mismatches = compare(expected, actual, RTOL, ATOL)
    for mismatch in mismatches:
        print(mismatch.message)
    for diff in diffs:
        if not diff.passed:
            print(f"{diff.path}: max_abs_diff={diff.max_abs:.3e} at {diff.worst_index}")
    max_difference = max((diff.max_abs for diff in diffs), default=0.0)
    passed = not mismatches and all(diff.passed for diff in diffs)
    print(f"max_difference={max_difference:.3e}")
    print("PASS" if passed else "FAIL")
    return passed


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
