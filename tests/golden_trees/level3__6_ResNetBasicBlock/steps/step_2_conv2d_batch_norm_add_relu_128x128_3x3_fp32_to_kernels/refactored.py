"""Step step_2_conv2d_batch_norm_add_relu_128x128_3x3_fp32_to_kernels: conv2d_batch_norm_add_relu_128x128_3x3_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from batch_norm_128_fp32 import Model as BatchNorm128Fp32
from conv2d_128x128_3x3_fp32 import Model as Conv2d128x1283x3Fp32
from relu_fp32 import Model as ReluFp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2 = Conv2d128x1283x3Fp32()
        self.bn2 = BatchNorm128Fp32()
        self.relu = ReluFp32()

    def forward(self, x0, x1):
        conv2d = self.conv2(x0)
        batch_norm = self.bn2(conv2d)
        add = batch_norm + x1
        relu = self.relu(add)
        return relu


def get_inputs():
    return [torch.randn((16, 128, 28, 28), dtype=torch.float32), torch.randn((16, 128, 28, 28), dtype=torch.float32)]


def get_init_inputs():
    return []
