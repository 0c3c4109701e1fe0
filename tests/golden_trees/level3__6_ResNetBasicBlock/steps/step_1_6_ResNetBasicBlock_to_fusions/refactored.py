"""Step step_1_6_ResNetBasicBlock_to_fusions: 6_ResNetBasicBlock rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from conv2d_batch_norm_64x128_1x1_fp32 import Model as Conv2dBatchNorm64x1281x1Fp32
from conv2d_batch_norm_add_relu_128x128_3x3_fp32 import Model as Conv2dBatchNormAddRelu128x1283x3Fp32
from conv2d_batch_norm_relu_64x128_3x3_fp32 import Model as Conv2dBatchNormRelu64x1283x3Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2d_batchnorm2d = Conv2dBatchNorm64x1281x1Fp32()
        self.conv2d_batchnorm2d_relu = Conv2dBatchNormRelu64x1283x3Fp32()
        self.conv2d_batchnorm2d_relu_1 = Conv2dBatchNormAddRelu128x1283x3Fp32()

    def forward(self, x):
        batch_norm = self.conv2d_batchnorm2d(x)
        relu = self.conv2d_batchnorm2d_relu(x)
        relu_1 = self.conv2d_batchnorm2d_relu_1(relu, batch_norm)
        return relu_1


def get_inputs():
    return [torch.randn((16, 64, 56, 56), dtype=torch.float32)]


def get_init_inputs():
    return []
