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
from rms_norm_1024_fp32 import Model as RmsNorm1024Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rms_norm = RmsNorm1024Fp32()

    def forward(self, x):
        mul = self.rms_norm(x)
        return mul


ORIGINAL = HERE.parent / "model.py"
WEIGHT_MAP = {
    "weight": "rms_norm.weight",
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
