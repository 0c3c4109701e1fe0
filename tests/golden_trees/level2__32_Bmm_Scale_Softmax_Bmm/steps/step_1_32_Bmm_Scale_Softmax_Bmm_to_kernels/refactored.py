"""Step step_1_32_Bmm_Scale_Softmax_Bmm_to_kernels: 32_Bmm_Scale_Softmax_Bmm rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from bmm_64x256x256_64x256x64_fp32 import Model as Bmm64x256x25664x256x64Fp32
from bmm_64x256x64_64x64x256_fp32 import Model as Bmm64x256x6464x64x256Fp32
from softmax_64x256x256_fp32 import Model as Softmax64x256x256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.bmm = Bmm64x256x6464x64x256Fp32()
        self.softmax = Softmax64x256x256Fp32()
        self.bmm_1 = Bmm64x256x25664x256x64Fp32()

    def forward(self, q, k, v):
        transpose = k.transpose(1, 2)
        bmm = self.bmm(q, transpose)
        mul = bmm * 0.125
        softmax = self.softmax(mul)
        bmm_1 = self.bmm_1(softmax, v)
        return bmm_1


def get_inputs():
    return [torch.randn((64, 256, 64), dtype=torch.float32), torch.randn((64, 256, 64), dtype=torch.float32), torch.randn((64, 256, 64), dtype=torch.float32)]


def get_init_inputs():
    return []
