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
from add_1x128x512_fp32 import Model as Add1x128x512Fp32
from embedding_8192x512_i64_fp32 import Model as Embedding8192x512I64Fp32
from gelu_fp32 import Model as GeluFp32
from layer_norm_512_fp32 import Model as LayerNorm512Fp32
from linear_2048x512_fp32 import Model as Linear2048x512Fp32
from linear_512x1536_fp32 import Model as Linear512x1536Fp32
from linear_512x2048_fp32 import Model as Linear512x2048Fp32
from linear_512x512_fp32 import Model as Linear512x512Fp32
from linear_512x8192_fp32 import Model as Linear512x8192Fp32
from masked_fill_1x1x128x128_fp32 import Model as MaskedFill1x1x128x128Fp32
from matmul_4x8x128x128_4x8x128x64_fp32 import Model as Matmul4x8x128x1284x8x128x64Fp32
from matmul_4x8x128x64_4x8x64x128_fp32 import Model as Matmul4x8x128x644x8x64x128Fp32
from softmax_4x8x128x128_fp32 import Model as Softmax4x8x128x128Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = Embedding8192x512I64Fp32()
        self.add = Add1x128x512Fp32()
        self.blocks_0_ln1 = LayerNorm512Fp32()
        self.blocks_0_attn_qkv = Linear512x1536Fp32()
        self.matmul = Matmul4x8x128x644x8x64x128Fp32()
        self.masked_fill = MaskedFill1x1x128x128Fp32()
        self.softmax = Softmax4x8x128x128Fp32()
        self.matmul_1 = Matmul4x8x128x1284x8x128x64Fp32()
        self.blocks_0_attn_proj = Linear512x512Fp32()
        self.blocks_0_ln2 = LayerNorm512Fp32()
        self.blocks_0_mlp_0 = Linear512x2048Fp32()
        self.blocks_0_mlp_1 = GeluFp32()
        self.blocks_0_mlp_2 = Linear2048x512Fp32()
        self.blocks_1_ln1 = LayerNorm512Fp32()
        self.blocks_1_attn_qkv = Linear512x1536Fp32()
        self.matmul_2 = Matmul4x8x128x644x8x64x128Fp32()
        self.masked_fill_1 = MaskedFill1x1x128x128Fp32()
        self.softmax_1 = Softmax4x8x128x128Fp32()
        self.matmul_3 = Matmul4x8x128x1284x8x128x64Fp32()
        self.blocks_1_attn_proj = Linear512x512Fp32()
        self.blocks_1_ln2 = LayerNorm512Fp32()
        self.blocks_1_mlp_0 = Linear512x2048Fp32()
        self.blocks_1_mlp_1 = GeluFp32()
        self.blocks_1_mlp_2 = Linear2048x512Fp32()
        self.blocks_2_ln1 = LayerNorm512Fp32()
        self.blocks_2_attn_qkv = Linear512x1536Fp32()
        self.matmul_4 = Matmul4x8x128x644x8x64x128Fp32()
        self.masked_fill_2 = MaskedFill1x1x128x128Fp32()
        self.softmax_2 = Softmax4x8x128x128Fp32()
        self.matmul_5 = Matmul4x8x128x1284x8x128x64Fp32()
        self.blocks_2_attn_proj = Linear512x512Fp32()
        self.blocks_2_ln2 = LayerNorm512Fp32()
        self.blocks_2_mlp_0 = Linear512x2048Fp32()
        self.blocks_2_mlp_1 = GeluFp32()
        self.blocks_2_mlp_2 = Linear2048x512Fp32()
        self.blocks_3_ln1 = LayerNorm512Fp32()
        self.blocks_3_attn_qkv = Linear512x1536Fp32()
        self.matmul_6 = Matmul4x8x128x644x8x64x128Fp32()
        self.masked_fill_3 = MaskedFill1x1x128x128Fp32()
        self.softmax_3 = Softmax4x8x128x128Fp32()
        self.matmul_7 = Matmul4x8x128x1284x8x128x64Fp32()
        self.blocks_3_attn_proj = Linear512x512Fp32()
        self.blocks_3_ln2 = LayerNorm512Fp32()
        self.blocks_3_mlp_0 = Linear512x2048Fp32()
        self.blocks_3_mlp_1 = GeluFp32()
        self.blocks_3_mlp_2 = Linear2048x512Fp32()
        self.ln_f = LayerNorm512Fp32()
        self.lm_head = Linear512x8192Fp32()

    def forward(self, idx):
        embedding = self.tok_emb(idx)
        add = self.add(embedding)
        layer_norm = self.blocks_0_ln1(add)
        linear = self.blocks_0_attn_qkv(layer_norm)
        split = torch.split(linear, 512, dim=2)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        reshape = getitem.reshape([4, 128, 8, 64])
        transpose = reshape.transpose(1, 2)
        reshape_1 = getitem_1.reshape([4, 128, 8, 64])
        transpose_1 = reshape_1.transpose(1, 2)
        reshape_2 = getitem_2.reshape([4, 128, 8, 64])
        transpose_2 = reshape_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.matmul(transpose, transpose_3)
        mul = matmul * 0.125
        masked_fill = self.masked_fill(mul)
        softmax = self.softmax(masked_fill)
        matmul_1 = self.matmul_1(softmax, transpose_2)
        transpose_4 = matmul_1.transpose(1, 2)
        reshape_3 = transpose_4.reshape([4, 128, 512])
        linear_1 = self.blocks_0_attn_proj(reshape_3)
        add_1 = add + linear_1
        layer_norm_1 = self.blocks_0_ln2(add_1)
        linear_2 = self.blocks_0_mlp_0(layer_norm_1)
        gelu = self.blocks_0_mlp_1(linear_2)
        linear_3 = self.blocks_0_mlp_2(gelu)
        add_2 = add_1 + linear_3
        layer_norm_2 = self.blocks_1_ln1(add_2)
        linear_4 = self.blocks_1_attn_qkv(layer_norm_2)
        split_1 = torch.split(linear_4, 512, dim=2)
        getitem_3 = split_1[0]
        getitem_4 = split_1[1]
        getitem_5 = split_1[2]
        reshape_4 = getitem_3.reshape([4, 128, 8, 64])
        transpose_5 = reshape_4.transpose(1, 2)
        reshape_5 = getitem_4.reshape([4, 128, 8, 64])
        transpose_6 = reshape_5.transpose(1, 2)
        reshape_6 = getitem_5.reshape([4, 128, 8, 64])
        transpose_7 = reshape_6.transpose(1, 2)
        transpose_8 = transpose_6.transpose(-2, -1)
        matmul_2 = self.matmul_2(transpose_5, transpose_8)
        mul_1 = matmul_2 * 0.125
        masked_fill_1 = self.masked_fill_1(mul_1)
        softmax_1 = self.softmax_1(masked_fill_1)
        matmul_3 = self.matmul_3(softmax_1, transpose_7)
        transpose_9 = matmul_3.transpose(1, 2)
        reshape_7 = transpose_9.reshape([4, 128, 512])
        linear_5 = self.blocks_1_attn_proj(reshape_7)
        add_3 = add_2 + linear_5
        layer_norm_3 = self.blocks_1_ln2(add_3)
        linear_6 = self.blocks_1_mlp_0(layer_norm_3)
        gelu_1 = self.blocks_1_mlp_1(linear_6)
        linear_7 = self.blocks_1_mlp_2(gelu_1)
        add_4 = add_3 + linear_7
        layer_norm_4 = self.blocks_2_ln1(add_4)
        linear_8 = self.blocks_2_attn_qkv(layer_norm_4)
        split_2 = torch.split(linear_8, 512, dim=2)
        getitem_6 = split_2[0]
        getitem_7 = split_2[1]
        getitem_8 = split_2[2]
        reshape_8 = getitem_6.reshape([4, 128, 8, 64])
        transpose_10 = reshape_8.transpose(1, 2)
        reshape_9 = getitem_7.reshape([4, 128, 8, 64])
        transpose_11 = reshape_9.transpose(1, 2)
        reshape_10 = getitem_8.reshape([4, 128, 8, 64])
        transpose_12 = reshape_10.transpose(1, 2)
        transpose_13 = transpose_11.transpose(-2, -1)
        matmul_4 = self.matmul_4(transpose_10, transpose_13)
        mul_2 = matmul_4 * 0.125
        masked_fill_2 = self.masked_fill_2(mul_2)
        softmax_2 = self.softmax_2(masked_fill_2)
        matmul_5 = self.matmul_5(softmax_2, transpose_12)
        transpose_14 = matmul_5.transpose(1, 2)
        reshape_11 = transpose_14.reshape([4, 128, 512])
        linear_9 = self.blocks_2_attn_proj(reshape_11)
        add_5 = add_4 + linear_9
        layer_norm_5 = self.blocks_2_ln2(add_5)
        linear_10 = self.blocks_2_mlp_0(layer_norm_5)
        gelu_2 = self.blocks_2_mlp_1(linear_10)
        linear_11 = self.blocks_2_mlp_2(gelu_2)
        add_6 = add_5 + linear_11
        layer_norm_6 = self.blocks_3_ln1(add_6)
        linear_12 = self.blocks_3_attn_qkv(layer_norm_6)
        split_3 = torch.split(linear_12, 512, dim=2)
        getitem_9 = split_3[0]
        getitem_10 = split_3[1]
        getitem_11 = split_3[2]
        reshape_12 = getitem_9.reshape([4, 128, 8, 64])
        transpose_15 = reshape_12.transpose(1, 2)
        reshape_13 = getitem_10.reshape([4, 128, 8, 64])
        transpose_16 = reshape_13.transpose(1, 2)
        reshape_14 = getitem_11.reshape([4, 128, 8, 64])
        transpose_17 = reshape_14.transpose(1, 2)
        transpose_18 = transpose_16.transpose(-2, -1)
        matmul_6 = self.matmul_6(transpose_15, transpose_18)
        mul_3 = matmul_6 * 0.125
        masked_fill_3 = self.masked_fill_3(mul_3)
        softmax_3 = self.softmax_3(masked_fill_3)
        matmul_7 = self.matmul_7(softmax_3, transpose_17)
        transpose_19 = matmul_7.transpose(1, 2)
        reshape_15 = transpose_19.reshape([4, 128, 512])
        linear_13 = self.blocks_3_attn_proj(reshape_15)
        add_7 = add_6 + linear_13
        layer_norm_7 = self.blocks_3_ln2(add_7)
        linear_14 = self.blocks_3_mlp_0(layer_norm_7)
        gelu_3 = self.blocks_3_mlp_1(linear_14)
        linear_15 = self.blocks_3_mlp_2(gelu_3)
        add_8 = add_7 + linear_15
        layer_norm_8 = self.ln_f(add_8)
        linear_16 = self.lm_head(layer_norm_8)
        return linear_16


ORIGINAL = HERE.parent / "level_3_model/simple_transformer.py"
WEIGHT_MAP = {
    "blocks.0.attn.causal_mask": "masked_fill.causal_mask",
    "blocks.0.attn.proj.bias": "blocks_0_attn_proj.linear.bias",
    "blocks.0.attn.proj.weight": "blocks_0_attn_proj.linear.weight",
    "blocks.0.attn.qkv.bias": "blocks_0_attn_qkv.linear.bias",
    "blocks.0.attn.qkv.weight": "blocks_0_attn_qkv.linear.weight",
    "blocks.0.ln1.bias": "blocks_0_ln1.layer_norm.bias",
    "blocks.0.ln1.weight": "blocks_0_ln1.layer_norm.weight",
    "blocks.0.ln2.bias": "blocks_0_ln2.layer_norm.bias",
    "blocks.0.ln2.weight": "blocks_0_ln2.layer_norm.weight",
    "blocks.0.mlp.0.bias": "blocks_0_mlp_0.linear.bias",
    "blocks.0.mlp.0.weight": "blocks_0_mlp_0.linear.weight",
    "blocks.0.mlp.2.bias": "blocks_0_mlp_2.linear.bias",
    "blocks.0.mlp.2.weight": "blocks_0_mlp_2.linear.weight",
    "blocks.1.attn.causal_mask": "masked_fill_1.causal_mask",
    "blocks.1.attn.proj.bias": "blocks_1_attn_proj.linear.bias",
    "blocks.1.attn.proj.weight": "blocks_1_attn_proj.linear.weight",
    "blocks.1.attn.qkv.bias": "blocks_1_attn_qkv.linear.bias",
    "blocks.1.attn.qkv.weight": "blocks_1_attn_qkv.linear.weight",
    "blocks.1.ln1.bias": "blocks_1_ln1.layer_norm.bias",
    "blocks.1.ln1.weight": "blocks_1_ln1.layer_norm.weight",
    "blocks.1.ln2.bias": "blocks_1_ln2.layer_norm.bias",
    "blocks.1.ln2.weight": "blocks_1_ln2.layer_norm.weight",
    "blocks.1.mlp.0.bias": "blocks_1_mlp_0.linear.bias",
    "blocks.1.mlp.0.weight": "blocks_1_mlp_0.linear.weight",
    "blocks.1.mlp.2.bias": "blocks_1_mlp_2.linear.bias",
    "blocks.1.mlp.2.weight": "blocks_1_mlp_2.linear.weight",
    "blocks.2.attn.causal_mask": "masked_fill_2.causal_mask",
    "blocks.2.attn.proj.bias": "blocks_2_attn_proj.linear.bias",
    "blocks.2.attn.proj.weight": "blocks_2_attn_proj.linear.weight",
    "blocks.2.attn.qkv.bias": "blocks_2_attn_qkv.linear.bias",
    "blocks.2.attn.qkv.weight": "blocks_2_attn_qkv.linear.weight",
    "blocks.2.ln1.bias": "blocks_2_ln1.layer_norm.bias",
    "blocks.2.ln1.weight": "blocks_2_ln1.layer_norm.weight",
    "blocks.2.ln2.bias": "blocks_2_ln2.layer_norm.bias",
    "blocks.2.ln2.weight": "blocks_2_ln2.layer_norm.weight",
    "blocks.2.mlp.0.bias": "blocks_2_mlp_0.linear.bias",
    "blocks.2.mlp.0.weight": "blocks_2_mlp_0.linear.weight",
    "blocks.2.mlp.2.bias": "blocks_2_mlp_2.linear.bias",
    "blocks.2.mlp.2.weight": "blocks_2_mlp_2.linear.weight",
    "blocks.3.attn.causal_mask": "masked_fill_3.causal_mask",
    "blocks.3.attn.proj.bias": "blocks_3_attn_proj.linear.bias",
    "blocks.3.attn.proj.weight": "blocks_3_attn_proj.linear.weight",
    "blocks.3.attn.qkv.bias": "blocks_3_attn_qkv.linear.bias",
    "blocks.3.attn.qkv.weight": "blocks_3_attn_qkv.linear.weight",
    "blocks.3.ln1.bias": "blocks_3_ln1.layer_norm.bias",
    "blocks.3.ln1.weight": "blocks_3_ln1.layer_norm.weight",
    "blocks.3.ln2.bias": "blocks_3_ln2.layer_norm.bias",
    "blocks.3.ln2.weight": "blocks_3_ln2.layer_norm.weight",
    "blocks.3.mlp.0.bias": "blocks_3_mlp_0.linear.bias",
    "blocks.3.mlp.0.weight": "blocks_3_mlp_0.linear.weight",
    "blocks.3.mlp.2.bias": "blocks_3_mlp_2.linear.bias",
    "blocks.3.mlp.2.weight": "blocks_3_mlp_2.linear.weight",
    "lm_head.weight": "lm_head.linear.weight",
    "ln_f.bias": "ln_f.layer_norm.bias",
    "ln_f.weight": "ln_f.layer_norm.weight",
    "pos_emb": "add.pos_emb",
    "tok_emb.weight": "tok_emb.embedding.weight",
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
