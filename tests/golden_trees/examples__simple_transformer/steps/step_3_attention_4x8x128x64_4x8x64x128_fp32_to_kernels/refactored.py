"""Step step_3_attention_4x8x128x64_4x8x64x128_fp32_to_kernels: attention_4x8x128x64_4x8x64x128_fp32 rewritten as calls of its 4 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from masked_fill_1x1x128x128_fp32 import Model as MaskedFill1x1x128x128Fp32
from matmul_4x8x128x128_4x8x128x64_fp32 import Model as Matmul4x8x128x1284x8x128x64Fp32
from matmul_4x8x128x64_4x8x64x128_fp32 import Model as Matmul4x8x128x644x8x64x128Fp32
from softmax_4x8x128x128_fp32 import Model as Softmax4x8x128x128Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.matmul = Matmul4x8x128x644x8x64x128Fp32()
        self.masked_fill = MaskedFill1x1x128x128Fp32()
        self.softmax = Softmax4x8x128x128Fp32()
        self.matmul_1 = Matmul4x8x128x1284x8x128x64Fp32()

    def forward(self, x0, x1, x2):
        matmul = self.matmul(x0, x1)
        mul = matmul * 0.125
        masked_fill = self.masked_fill(mul)
        softmax = self.softmax(masked_fill)
        matmul_1 = self.matmul_1(softmax, x2)
        return matmul_1


def get_inputs():
    return [torch.randn((4, 8, 128, 64), dtype=torch.float32), torch.randn((4, 8, 64, 128), dtype=torch.float32), torch.randn((4, 8, 128, 64), dtype=torch.float32)]


def get_init_inputs():
    return []
