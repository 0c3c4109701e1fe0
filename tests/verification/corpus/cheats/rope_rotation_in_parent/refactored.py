import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import math

import torch
import torch.nn as nn

from linear_8x8_fp32 import Model as Linear
from rope_tables_16x8_fp32 import Model as RopeTables


class RefactoredModel(nn.Module):
    def __init__(self, d=8, n=16):
        super().__init__()
        self.fc = Linear(d, d)
        self.tables = RopeTables(n, d)

    def forward(self, x):
        h = self.fc(x)
        cos, sin = self.tables(h)
        half = h.shape[-1] // 2
        rot = torch.cat([-h[..., half:], h[..., :half]], dim=-1)
        return h * cos + rot * sin


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 16]
