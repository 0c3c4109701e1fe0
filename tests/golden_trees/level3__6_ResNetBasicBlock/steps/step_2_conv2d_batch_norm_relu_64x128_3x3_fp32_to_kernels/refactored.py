"""Step step_2_conv2d_batch_norm_relu_64x128_3x3_fp32_to_kernels: conv2d_batch_norm_relu_64x128_3x3_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from batch_norm_128_fp32 import Model as BatchNorm128Fp32
from conv2d_64x128_3x3_fp32 import Model as Conv2d64x1283x3Fp32
from relu_fp32 import Model as ReluFp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2d64x1283x3Fp32()
        self.bn1 = BatchNorm128Fp32()
        self.relu = ReluFp32()

    def forward(self, x):
        conv2d = self.conv1(x)
        batch_norm = self.bn1(conv2d)
        relu = self.relu(batch_norm)
        return relu


def get_inputs():
    return [torch.randn((16, 64, 56, 56), dtype=torch.float32)]


def get_init_inputs():
    return []
