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
from layer_norm_768_fp32 import Model as LayerNorm768Fp32
from linear_3072x768_fp32 import Model as Linear3072x768Fp32
from linear_768x2304_fp32 import Model as Linear768x2304Fp32
from linear_768x3072_fp32 import Model as Linear768x3072Fp32
from linear_768x768_fp32 import Model as Linear768x768Fp32
from masked_fill_1x1x512x512_fp32 import Model as MaskedFill1x1x512x512Fp32
from matmul_8x12x512x512_8x12x512x64_fp32 import Model as Matmul8x12x512x5128x12x512x64Fp32
from matmul_8x12x512x64_8x12x64x512_fp32 import Model as Matmul8x12x512x648x12x64x512Fp32
from new_gelu_fp32 import Model as NewGeluFp32
from softmax_8x12x512x512_fp32 import Model as Softmax8x12x512x512Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = LayerNorm768Fp32()
        self.attn_c_attn = Linear768x2304Fp32()
        self.matmul = Matmul8x12x512x648x12x64x512Fp32()
        self.masked_fill = MaskedFill1x1x512x512Fp32()
        self.softmax = Softmax8x12x512x512Fp32()
        self.matmul_1 = Matmul8x12x512x5128x12x512x64Fp32()
        self.attn_c_proj = Linear768x768Fp32()
        self.ln_2 = LayerNorm768Fp32()
        self.mlp_c_fc = Linear768x3072Fp32()
        self.mlp_act = NewGeluFp32()
        self.mlp_c_proj = Linear3072x768Fp32()

    def forward(self, x):
        layer_norm = self.ln_1(x)
        linear = self.attn_c_attn(layer_norm)
        split = torch.split(linear, 768, dim=2)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        view = getitem.view([8, 512, 12, 64])
        transpose = view.transpose(1, 2)
        view_1 = getitem_1.view([8, 512, 12, 64])
        transpose_1 = view_1.transpose(1, 2)
        view_2 = getitem_2.view([8, 512, 12, 64])
        transpose_2 = view_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.matmul(transpose, transpose_3)
        mul = matmul * 0.125
        masked_fill = self.masked_fill(mul)
        softmax = self.softmax(masked_fill)
        matmul_1 = self.matmul_1(softmax, transpose_2)
        transpose_4 = matmul_1.transpose(1, 2)
        contiguous = transpose_4.contiguous()
        view_3 = contiguous.view([8, 512, 768])
        linear_1 = self.attn_c_proj(view_3)
        add = x + linear_1
        layer_norm_1 = self.ln_2(add)
        linear_2 = self.mlp_c_fc(layer_norm_1)
        mul_1 = self.mlp_act(linear_2)
        linear_3 = self.mlp_c_proj(mul_1)
        add_1 = add + linear_3
        return add_1


ORIGINAL = HERE.parent / "level_2_layer/21_GPTBlock.py"
WEIGHT_MAP = {
    "attn.bias": "masked_fill.bias",
    "attn.c_attn.bias": "attn_c_attn.linear.bias",
    "attn.c_attn.weight": "attn_c_attn.linear.weight",
    "attn.c_proj.bias": "attn_c_proj.linear.bias",
    "attn.c_proj.weight": "attn_c_proj.linear.weight",
    "ln_1.bias": "ln_1.layer_norm.bias",
    "ln_1.weight": "ln_1.layer_norm.weight",
    "ln_2.bias": "ln_2.layer_norm.bias",
    "ln_2.weight": "ln_2.layer_norm.weight",
    "mlp.c_fc.bias": "mlp_c_fc.linear.bias",
    "mlp.c_fc.weight": "mlp_c_fc.linear.weight",
    "mlp.c_proj.bias": "mlp_c_proj.linear.bias",
    "mlp.c_proj.weight": "mlp_c_proj.linear.weight",
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
