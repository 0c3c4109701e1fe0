"""Step step_3_linear_gelu_256x1024_fp32_to_kernels: linear_gelu_256x1024_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from gelu_fp32 import Model as GeluFp32
from linear_256x1024_fp32 import Model as Linear256x1024Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Linear256x1024Fp32()
        self.gelu = GeluFp32()

    def forward(self, x):
        linear = self.fc1(x)
        gelu = self.gelu(linear)
        return gelu


def get_inputs():
    return [torch.randn((4, 128, 256), dtype=torch.float32)]


def get_init_inputs():
    return []
