"""Step step_3_matmul_add_256x256_fp32_to_kernels: matmul_add_256x256_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from add_256x256_fp32 import Model as Add256x256Fp32
from matmul_4x16x256x64_4x16x64x256_fp32 import Model as Matmul4x16x256x644x16x64x256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.matmul = Matmul4x16x256x644x16x64x256Fp32()
        self.add = Add256x256Fp32()

    def forward(self, x0, x1):
        matmul = self.matmul(x0, x1)
        div = matmul / 8.0
        add = self.add(div)
        return add


def get_inputs():
    return [torch.randn((4, 16, 256, 64), dtype=torch.float32), torch.randn((4, 16, 64, 256), dtype=torch.float32)]


def get_init_inputs():
    return []
