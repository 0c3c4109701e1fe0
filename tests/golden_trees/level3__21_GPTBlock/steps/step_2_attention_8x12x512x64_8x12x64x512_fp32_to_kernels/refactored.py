"""Step step_2_attention_8x12x512x64_8x12x64x512_fp32_to_kernels: attention_8x12x512x64_8x12x64x512_fp32 rewritten as calls of its 4 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from masked_fill_1x1x512x512_fp32 import Model as MaskedFill1x1x512x512Fp32
from matmul_8x12x512x512_8x12x512x64_fp32 import Model as Matmul8x12x512x5128x12x512x64Fp32
from matmul_8x12x512x64_8x12x64x512_fp32 import Model as Matmul8x12x512x648x12x64x512Fp32
from softmax_8x12x512x512_fp32 import Model as Softmax8x12x512x512Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.matmul = Matmul8x12x512x648x12x64x512Fp32()
        self.masked_fill = MaskedFill1x1x512x512Fp32()
        self.softmax = Softmax8x12x512x512Fp32()
        self.matmul_1 = Matmul8x12x512x5128x12x512x64Fp32()

    def forward(self, x0, x1, x2):
        matmul = self.matmul(x0, x1)
        mul = matmul * 0.125
        masked_fill = self.masked_fill(mul)
        softmax = self.softmax(masked_fill)
        matmul_1 = self.matmul_1(softmax, x2)
        return matmul_1


def get_inputs():
    return [torch.randn((8, 12, 512, 64), dtype=torch.float32), torch.randn((8, 12, 64, 512), dtype=torch.float32), torch.randn((8, 12, 512, 64), dtype=torch.float32)]


def get_init_inputs():
    return []
