import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import math

import torch
import torch.nn as nn

from position_embedding_16x8_fp32 import Model as PositionEmbedding
from linear_8x8_fp32 import Model as Linear


class RefactoredModel(nn.Module):
    def __init__(self, d=8, n=16):
        super().__init__()
        self.proj = Linear(d, d)
        self.pos = PositionEmbedding(n, d)

    def forward(self, x):
        return self.proj(x) + self.pos(x)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 16]
