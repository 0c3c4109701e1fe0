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
from add_256x256_fp32 import Model as Add256x256Fp32
from linear_1024x1024_fp32 import Model as Linear1024x1024Fp32
from linear_1024x256_fp32 import Model as Linear1024x256Fp32
from linear_1024x2816_fp32 import Model as Linear1024x2816Fp32
from linear_2816x1024_fp32 import Model as Linear2816x1024Fp32
from matmul_4x16x256x256_4x16x256x64_fp32 import Model as Matmul4x16x256x2564x16x256x64Fp32
from matmul_4x16x256x64_4x16x64x256_fp32 import Model as Matmul4x16x256x644x16x64x256Fp32
from mul_fp32 import Model as MulFp32
from rms_norm_1024_fp32 import Model as RmsNorm1024Fp32
from rotary_embedding_64_fp32_16x256x64 import Model as RotaryEmbedding64Fp3216x256x64
from rotary_embedding_64_fp32_4x256x64 import Model as RotaryEmbedding64Fp324x256x64
from silu_fp32 import Model as SiluFp32
from softmax_4x16x256x256_fp32 import Model as Softmax4x16x256x256Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_norm = RmsNorm1024Fp32()
        self.attention_wq = Linear1024x1024Fp32()
        self.attention_wk = Linear1024x256Fp32()
        self.attention_wv = Linear1024x256Fp32()
        self.rotary_embedding = RotaryEmbedding64Fp3216x256x64()
        self.rotary_embedding_1 = RotaryEmbedding64Fp324x256x64()
        self.matmul = Matmul4x16x256x644x16x64x256Fp32()
        self.add = Add256x256Fp32()
        self.softmax = Softmax4x16x256x256Fp32()
        self.matmul_1 = Matmul4x16x256x2564x16x256x64Fp32()
        self.attention_wo = Linear1024x1024Fp32()
        self.ffn_norm = RmsNorm1024Fp32()
        self.feed_forward_w1 = Linear1024x2816Fp32()
        self.silu = SiluFp32()
        self.feed_forward_w3 = Linear1024x2816Fp32()
        self.mul = MulFp32()
        self.feed_forward_w2 = Linear2816x1024Fp32()

    def forward(self, x):
        mul = self.attention_norm(x)
        linear = self.attention_wq(mul)
        view = linear.view([4, 256, 16, 64])
        transpose = view.transpose(1, 2)
        linear_1 = self.attention_wk(mul)
        view_1 = linear_1.view([4, 256, 4, 64])
        transpose_1 = view_1.transpose(1, 2)
        linear_2 = self.attention_wv(mul)
        view_2 = linear_2.view([4, 256, 4, 64])
        transpose_2 = view_2.transpose(1, 2)
        add = self.rotary_embedding(transpose)
        add_1 = self.rotary_embedding_1(transpose_1)
        repeat_interleave = torch.repeat_interleave(add_1, 4, dim=1)
        repeat_interleave_1 = torch.repeat_interleave(transpose_2, 4, dim=1)
        transpose_3 = repeat_interleave.transpose(-2, -1)
        matmul = self.matmul(add, transpose_3)
        div = matmul / 8.0
        add_2 = self.add(div)
        to = add_2.to(torch.float32)
        softmax = self.softmax(to)
        type_as = softmax.type_as(add)
        matmul_1 = self.matmul_1(type_as, repeat_interleave_1)
        transpose_4 = matmul_1.transpose(1, 2)
        reshape = transpose_4.reshape([4, 256, -1])
        linear_3 = self.attention_wo(reshape)
        add_3 = x + linear_3
        mul_1 = self.ffn_norm(add_3)
        linear_4 = self.feed_forward_w1(mul_1)
        silu = self.silu(linear_4)
        linear_5 = self.feed_forward_w3(mul_1)
        mul_2 = self.mul(silu, linear_5)
        linear_6 = self.feed_forward_w2(mul_2)
        add_4 = add_3 + linear_6
        return add_4


ORIGINAL = HERE.parent / "level_3_model/31_LlamaDecoderBlock.py"
WEIGHT_MAP = {
    "attention.causal_mask": "add.causal_mask",
    "attention.cos_cached": ["rotary_embedding.cos_cached", "rotary_embedding_1.cos_cached"],
    "attention.sin_cached": ["rotary_embedding.sin_cached", "rotary_embedding_1.sin_cached"],
    "attention.wk.weight": "attention_wk.linear.weight",
    "attention.wo.weight": "attention_wo.linear.weight",
    "attention.wq.weight": "attention_wq.linear.weight",
    "attention.wv.weight": "attention_wv.linear.weight",
    "attention_norm.weight": "attention_norm.weight",
    "feed_forward.w1.weight": "feed_forward_w1.linear.weight",
    "feed_forward.w2.weight": "feed_forward_w2.linear.weight",
    "feed_forward.w3.weight": "feed_forward_w3.linear.weight",
    "ffn_norm.weight": "ffn_norm.weight",
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
