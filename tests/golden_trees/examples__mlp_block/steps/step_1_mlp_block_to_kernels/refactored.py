"""Step step_1_mlp_block_to_kernels: mlp_block rewritten as calls of its 4 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from gelu_fp32 import Model as GeluFp32
from layer_norm_768_fp32 import Model as LayerNorm768Fp32
from linear_3072x768_fp32 import Model as Linear3072x768Fp32
from linear_768x3072_fp32 import Model as Linear768x3072Fp32


class RefactoredModel(nn.Module):
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


def get_inputs():
    return [torch.randn((16, 128, 768), dtype=torch.float32)]


def get_init_inputs():
    return []
