import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_8x8_fp32 import Model as Linear
from relu_fp32 import Model as Relu


class RefactoredModel(nn.Module):
    def __init__(self, d=8, use_proj=True):
        super().__init__()
        self.has_projection = use_proj
        self.fc = Linear(d, d)
        self.act = Relu()
        if use_proj:
            self.proj = Linear(d, d)

    def forward(self, x):
        h = self.act(self.fc(x))
        residual = x
        if self.has_projection:
            residual = self.proj(x)
        return h + residual


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, True]
