"""Step step_2_attention_8x8x256x64_8x8x64x256_fp32_to_kernels: attention_8x8x256x64_8x8x64x256_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from matmul_8x8x256x256_8x8x256x64_fp32 import Model as Matmul8x8x256x2568x8x256x64Fp32
from matmul_8x8x256x64_8x8x64x256_fp32 import Model as Matmul8x8x256x648x8x64x256Fp32
from softmax_8x8x256x256_fp32 import Model as Softmax8x8x256x256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.matmul = Matmul8x8x256x648x8x64x256Fp32()
        self.softmax = Softmax8x8x256x256Fp32()
        self.matmul_1 = Matmul8x8x256x2568x8x256x64Fp32()

    def forward(self, x0, x1, x2):
        matmul = self.matmul(x0, x1)
        div = matmul / 8.0
        softmax = self.softmax(div)
        matmul_1 = self.matmul_1(softmax, x2)
        return matmul_1


def get_inputs():
    return [torch.randn((8, 8, 256, 64), dtype=torch.float32), torch.randn((8, 8, 64, 256), dtype=torch.float32), torch.randn((8, 8, 256, 64), dtype=torch.float32)]


def get_init_inputs():
    return []
