import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_16x8_fp32 import Model as Linear16x8
from linear_gelu_8x16_fp32 import Model as LinearGelu


class RefactoredModel(nn.Module):
    def __init__(self, d=8, h=16):
        super().__init__()
        self.up = LinearGelu(d, h)
        self.down = Linear16x8(h, d)

    def forward(self, x):
        return self.down(self.up(x)) + x


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
