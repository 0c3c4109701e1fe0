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
from batch_norm_128_fp32 import Model as BatchNorm128Fp32
from conv2d_128x128_3x3_fp32 import Model as Conv2d128x1283x3Fp32
from conv2d_64x128_1x1_fp32 import Model as Conv2d64x1281x1Fp32
from conv2d_64x128_3x3_fp32 import Model as Conv2d64x1283x3Fp32
from relu_fp32 import Model as ReluFp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.downsample_0 = Conv2d64x1281x1Fp32()
        self.downsample_1 = BatchNorm128Fp32()
        self.conv1 = Conv2d64x1283x3Fp32()
        self.bn1 = BatchNorm128Fp32()
        self.relu = ReluFp32()
        self.conv2 = Conv2d128x1283x3Fp32()
        self.bn2 = BatchNorm128Fp32()
        self.relu_1 = ReluFp32()

    def forward(self, x):
        conv2d = self.downsample_0(x)
        batch_norm = self.downsample_1(conv2d)
        conv2d_1 = self.conv1(x)
        batch_norm_1 = self.bn1(conv2d_1)
        relu = self.relu(batch_norm_1)
        conv2d_2 = self.conv2(relu)
        batch_norm_2 = self.bn2(conv2d_2)
        add = batch_norm_2 + batch_norm
        relu_1 = self.relu_1(add)
        return relu_1


ORIGINAL = HERE.parent / "level_2_layer/6_ResNetBasicBlock.py"
WEIGHT_MAP = {
    "bn1.bias": "bn1.batch_norm.bias",
    "bn1.running_mean": "bn1.batch_norm.running_mean",
    "bn1.running_var": "bn1.batch_norm.running_var",
    "bn1.weight": "bn1.batch_norm.weight",
    "bn2.bias": "bn2.batch_norm.bias",
    "bn2.running_mean": "bn2.batch_norm.running_mean",
    "bn2.running_var": "bn2.batch_norm.running_var",
    "bn2.weight": "bn2.batch_norm.weight",
    "conv1.weight": "conv1.conv2d.weight",
    "conv2.weight": "conv2.conv2d.weight",
    "downsample.0.weight": "downsample_0.conv2d.weight",
    "downsample.1.bias": "downsample_1.batch_norm.bias",
    "downsample.1.running_mean": "downsample_1.batch_norm.running_mean",
    "downsample.1.running_var": "downsample_1.batch_norm.running_var",
    "downsample.1.weight": "downsample_1.batch_norm.weight",
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
