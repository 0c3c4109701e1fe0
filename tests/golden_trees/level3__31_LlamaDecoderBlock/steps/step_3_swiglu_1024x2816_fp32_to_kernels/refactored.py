"""Step step_3_swiglu_1024x2816_fp32_to_kernels: swiglu_1024x2816_fp32 rewritten as calls of its 4 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_1024x2816_fp32 import Model as Linear1024x2816Fp32
from mul_fp32 import Model as MulFp32
from silu_fp32 import Model as SiluFp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = Linear1024x2816Fp32()
        self.silu = SiluFp32()
        self.w3 = Linear1024x2816Fp32()
        self.mul = MulFp32()

    def forward(self, x):
        linear = self.w1(x)
        silu = self.silu(linear)
        linear_1 = self.w3(x)
        mul = self.mul(silu, linear_1)
        return mul


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []
