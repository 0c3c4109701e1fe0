"""Step step_3_linear_mul_1024x2816_fp32_to_kernels: linear_mul_1024x2816_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_1024x2816_fp32 import Model as Linear1024x2816Fp32
from mul_fp32 import Model as MulFp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.w3 = Linear1024x2816Fp32()
        self.mul = MulFp32()

    def forward(self, x0, x1):
        linear = self.w3(x0)
        mul = self.mul(x1, linear)
        return mul


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32), torch.randn((4, 256, 2816), dtype=torch.float32)]


def get_init_inputs():
    return []
