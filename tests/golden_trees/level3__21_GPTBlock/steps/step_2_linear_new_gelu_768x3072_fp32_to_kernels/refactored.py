"""Step step_2_linear_new_gelu_768x3072_fp32_to_kernels: linear_new_gelu_768x3072_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_768x3072_fp32 import Model as Linear768x3072Fp32
from new_gelu_fp32 import Model as NewGeluFp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp_c_fc = Linear768x3072Fp32()
        self.mlp_act = NewGeluFp32()

    def forward(self, x):
        linear = self.mlp_c_fc(x)
        mul = self.mlp_act(linear)
        return mul


def get_inputs():
    return [torch.randn((8, 512, 768), dtype=torch.float32)]


def get_init_inputs():
    return []
