import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from matmul_2x4x8_2x8x4_fp32 import Model as MatMul
from relu_fp32 import Model as Relu


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.matmul = MatMul()
        self.act = Relu()

    def forward(self, a, b):
        return self.act(a @ b)


def get_inputs():
    return [torch.randn(2, 4, 8), torch.randn(2, 8, 4)]


def get_init_inputs():
    return []
