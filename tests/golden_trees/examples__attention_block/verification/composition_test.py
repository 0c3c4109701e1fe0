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
    "v_proj.weight": "v_proj.linear.weight"
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
