"""Step step_3_attention_4x16x256x64_4x16x64x256_fp32_to_kernels: attention_4x16x256x64_4x16x64x256_fp32 rewritten as calls of its 4 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from add_256x256_fp32 import Model as Add256x256Fp32
from matmul_4x16x256x256_4x16x256x64_fp32 import Model as Matmul4x16x256x2564x16x256x64Fp32
from matmul_4x16x256x64_4x16x64x256_fp32 import Model as Matmul4x16x256x644x16x64x256Fp32
from softmax_4x16x256x256_fp32 import Model as Softmax4x16x256x256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.matmul = Matmul4x16x256x644x16x64x256Fp32()
        self.add = Add256x256Fp32()
        self.softmax = Softmax4x16x256x256Fp32()
        self.matmul_1 = Matmul4x16x256x2564x16x256x64Fp32()

    def forward(self, x0, x1, x2):
        matmul = self.matmul(x0, x1)
        div = matmul / 8.0
        add = self.add(div)
        to = add.to(torch.float32)
        softmax = self.softmax(to)
        type_as = softmax.type_as(x0)
        matmul_1 = self.matmul_1(type_as, x2)
        return matmul_1


def get_inputs():
    return [torch.randn((4, 16, 256, 64), dtype=torch.float32), torch.randn((4, 16, 64, 256), dtype=torch.float32), torch.randn((4, 16, 256, 64), dtype=torch.float32)]


def get_init_inputs():
    return []
