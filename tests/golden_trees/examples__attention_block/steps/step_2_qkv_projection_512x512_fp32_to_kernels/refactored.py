"""Step step_2_qkv_projection_512x512_fp32_to_kernels: qkv_projection_512x512_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_512x512_fp32 import Model as Linear512x512Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = Linear512x512Fp32()
        self.k_proj = Linear512x512Fp32()
        self.v_proj = Linear512x512Fp32()

    def forward(self, x):
        linear = self.q_proj(x)
        view = linear.view([8, 256, 8, 64])
        transpose = view.transpose(1, 2)
        linear_1 = self.k_proj(x)
        view_1 = linear_1.view([8, 256, 8, 64])
        transpose_1 = view_1.transpose(1, 2)
        linear_2 = self.v_proj(x)
        return (transpose, transpose_1, linear_2)


def get_inputs():
    return [torch.randn((8, 256, 512), dtype=torch.float32)]


def get_init_inputs():
    return []
