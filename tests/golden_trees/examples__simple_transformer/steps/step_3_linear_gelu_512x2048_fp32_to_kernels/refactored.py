"""Step step_3_linear_gelu_512x2048_fp32_to_kernels: linear_gelu_512x2048_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from gelu_fp32 import Model as GeluFp32
from linear_512x2048_fp32 import Model as Linear512x2048Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.m_0 = Linear512x2048Fp32()
        self.m_1 = GeluFp32()

    def forward(self, x):
        linear = self.m_0(x)
        gelu = self.m_1(linear)
        return gelu


def get_inputs():
    return [torch.randn((4, 128, 512), dtype=torch.float32)]


def get_init_inputs():
    return []
