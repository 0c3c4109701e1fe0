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
from linear_512x512_fp32 import Model as Linear512x512Fp32
from matmul_8x8x256x256_8x8x256x64_fp32 import Model as Matmul8x8x256x2568x8x256x64Fp32
from matmul_8x8x256x64_8x8x64x256_fp32 import Model as Matmul8x8x256x648x8x64x256Fp32
from softmax_8x8x256x256_fp32 import Model as Softmax8x8x256x256Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = Linear512x512Fp32()
        self.k_proj = Linear512x512Fp32()
        self.v_proj = Linear512x512Fp32()
        self.matmul = Matmul8x8x256x648x8x64x256Fp32()
        self.softmax = Softmax8x8x256x256Fp32()
        self.matmul_1 = Matmul8x8x256x2568x8x256x64Fp32()
        self.out_proj = Linear512x512Fp32()

    def forward(self, x):
        linear = self.q_proj(x)
        view = linear.view([8, 256, 8, 64])
        transpose = view.transpose(1, 2)
        linear_1 = self.k_proj(x)
        view_1 = linear_1.view([8, 256, 8, 64])
        transpose_1 = view_1.transpose(1, 2)
        linear_2 = self.v_proj(x)
        view_2 = linear_2.view([8, 256, 8, 64])
        transpose_2 = view_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.matmul(transpose, transpose_3)
        div = matmul / 8.0
        softmax = self.softmax(div)
        matmul_1 = self.matmul_1(softmax, transpose_2)
        transpose_4 = matmul_1.transpose(1, 2)
        contiguous = transpose_4.contiguous()
        view_3 = contiguous.view([8, 256, 512])
        linear_3 = self.out_proj(view_3)
        return linear_3


ORIGINAL = HERE.parent / "level_2_layer/attention_block.py"
WEIGHT_MAP = {
    "k_proj.bias": "k_proj.linear.bias",
    "k_proj.weight": "k_proj.linear.weight",
    "out_proj.bias": "out_proj.linear.bias",
    "out_proj.weight": "out_proj.linear.weight",
    "q_proj.bias": "q_proj.linear.bias",
    "q_proj.weight": "q_proj.linear.weight",
    "v_proj.bias": "v_proj.linear.bias",
    "v_proj.weight": "v_proj.linear.weight",
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
