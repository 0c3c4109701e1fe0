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
from gru_768x128_fp32 import Model as Gru768x128Fp32


class ComposedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = Gru768x128Fp32()

    def forward(self, x):
        getitem = self.gru(x)
        return getitem


ORIGINAL = HERE.parent / "model.py"
WEIGHT_MAP = {
    "gru.bias_hh_l0": "gru.gru_bias_hh_l0",
    "gru.bias_hh_l1": "gru.gru_bias_hh_l1",
    "gru.bias_hh_l2": "gru.gru_bias_hh_l2",
    "gru.bias_ih_l0": "gru.gru_bias_ih_l0",
    "gru.bias_ih_l1": "gru.gru_bias_ih_l1",
    "gru.bias_ih_l2": "gru.gru_bias_ih_l2",
    "gru.weight_hh_l0": "gru.gru_weight_hh_l0",
    "gru.weight_hh_l1": "gru.gru_weight_hh_l1",
    "gru.weight_hh_l2": "gru.gru_weight_hh_l2",
    "gru.weight_ih_l0": "gru.gru_weight_ih_l0",
    "gru.weight_ih_l1": "gru.gru_weight_ih_l1",
    "gru.weight_ih_l2": "gru.gru_weight_ih_l2"
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
