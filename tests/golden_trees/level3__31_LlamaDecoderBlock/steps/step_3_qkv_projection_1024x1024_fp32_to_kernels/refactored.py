"""Step step_3_qkv_projection_1024x1024_fp32_to_kernels: qkv_projection_1024x1024_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_1024x1024_fp32 import Model as Linear1024x1024Fp32
from linear_1024x256_fp32 import Model as Linear1024x256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.wq = Linear1024x1024Fp32()
        self.wk = Linear1024x256Fp32()
        self.wv = Linear1024x256Fp32()

    def forward(self, x):
        linear = self.wq(x)
        view = linear.view([4, 256, 16, 64])
        transpose = view.transpose(1, 2)
        linear_1 = self.wk(x)
        view_1 = linear_1.view([4, 256, 4, 64])
        transpose_1 = view_1.transpose(1, 2)
        linear_2 = self.wv(x)
        return (transpose, transpose_1, linear_2)


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []
