"""Step step_2_rms_norm_linear_silu_mul_1024_fp32_to_fusions: rms_norm_linear_silu_mul_1024_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_2816x1024_fp32 import Model as Linear2816x1024Fp32
from rms_norm_1024_fp32 import Model as RmsNorm1024Fp32
from swiglu_1024x2816_fp32 import Model as Swiglu1024x2816Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ffn_norm = RmsNorm1024Fp32()
        self.swiglu = Swiglu1024x2816Fp32()
        self.feed_forward_w2 = Linear2816x1024Fp32()

    def forward(self, x):
        mul = self.ffn_norm(x)
        mul_1 = self.swiglu(mul)
        linear = self.feed_forward_w2(mul_1)
        return linear


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []
