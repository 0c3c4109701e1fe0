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
from gelu_fp32 import Model as GeluFp32
from layer_norm_768_fp32 import Model as LayerNorm768Fp32
from linear_3072x768_fp32 import Model as Linear3072x768Fp32
from linear_768x3072_fp32 import Model as Linear768x3072Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = LayerNorm768Fp32()
        self.fc1 = Linear768x3072Fp32()
        self.act = GeluFp32()
        self.fc2 = Linear3072x768Fp32()

    def forward(self, x):
        layer_norm = self.norm(x)
        linear = self.fc1(layer_norm)
        gelu = self.act(linear)
        linear_1 = self.fc2(gelu)
        add = x + linear_1
        return add


ORIGINAL = HERE.parent / "level_1_fusion/mlp_block.py"
WEIGHT_MAP = {
    "fc1.bias": "fc1.linear.bias",
    "fc1.weight": "fc1.linear.weight",
    "fc2.bias": "fc2.linear.bias",
    "fc2.weight": "fc2.linear.weight",
    "norm.bias": "norm.layer_norm.bias",
    "norm.weight": "norm.layer_norm.weight"
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
