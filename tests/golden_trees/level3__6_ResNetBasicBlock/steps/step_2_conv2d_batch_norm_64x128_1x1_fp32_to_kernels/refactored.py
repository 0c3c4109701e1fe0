"""Step step_2_conv2d_batch_norm_64x128_1x1_fp32_to_kernels: conv2d_batch_norm_64x128_1x1_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from batch_norm_128_fp32 import Model as BatchNorm128Fp32
from conv2d_64x128_1x1_fp32 import Model as Conv2d64x1281x1Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.m_0 = Conv2d64x1281x1Fp32()
        self.m_1 = BatchNorm128Fp32()

    def forward(self, x):
        conv2d = self.m_0(x)
        batch_norm = self.m_1(conv2d)
        return batch_norm


def get_inputs():
    return [torch.randn((16, 64, 56, 56), dtype=torch.float32)]


def get_init_inputs():
    return []
