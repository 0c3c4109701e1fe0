"""End-to-end composition test: the model rebuilt from level-0 kernels only,
compared with the original on the same weights and inputs."""

import importlib.util
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

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
    "downsample.1.weight": "downsample_1.batch_norm.weight"
}
RTOL = 0.0001
ATOL = 1e-05


def load_original():
    spec = importlib.util.spec_from_file_location("composition_original", ORIGINAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transfer(original, composed):
    """Copy every mapped parameter and buffer of the original into the composed model."""
    source = dict(original.named_parameters(remove_duplicate=False))
    source.update(original.named_buffers(remove_duplicate=False))
    for prefix, module in original.named_modules(remove_duplicate=False):
        # plain tensor attributes (`self.h0 = torch.randn(...)`) are state the forward reads
        for attr, value in vars(module).items():
            if isinstance(value, torch.Tensor) and not attr.startswith("_"):
                source[prefix + "." + attr if prefix else attr] = value
    target = dict(composed.named_parameters(remove_duplicate=False))
    target.update(composed.named_buffers(remove_duplicate=False))
    with torch.no_grad():
        for src, dst in WEIGHT_MAP.items():
            for name in dst if isinstance(dst, list) else [dst]:
                target[name].copy_(source[src])


def main():
    original_module = load_original()
    torch.manual_seed(42)
    original = original_module.Model(*original_module.get_init_inputs()).eval()
    composed = ComposedModel().eval()
    transfer(original, composed)
    inputs = original_module.get_inputs()
    with torch.no_grad():
        expected = original(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
        actual = composed(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
    exp_leaves = torch.utils._pytree.tree_leaves(expected)
    act_leaves = torch.utils._pytree.tree_leaves(actual)
    ok = len(exp_leaves) == len(act_leaves)
    max_diff = 0.0
    for e, a in zip(exp_leaves, act_leaves):
        if not isinstance(e, torch.Tensor):
            ok = ok and e == a
            continue
        if e.shape != a.shape or e.dtype != a.dtype:
            ok = False
            continue
        if e.numel():
            diff = (e.double() - a.double()).abs().nan_to_num(0.0).max().item()
            max_diff = max(max_diff, diff)
        ok = ok and torch.allclose(e, a, rtol=RTOL, atol=ATOL, equal_nan=True)
    print(f"max_difference={max_diff:.3e}")
    print("PASS" if ok else "FAIL")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
