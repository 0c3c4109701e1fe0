import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_16x8_fp32 import Model as Head
from packed_gru_8x16_fp32 import Model as PackedGru


class RefactoredModel(nn.Module):
    def __init__(self, d_in=8, d_hidden=16):
        super().__init__()
        self.gru = PackedGru(d_in, d_hidden)
        self.head = Head(d_hidden, d_in)

    def forward(self, x):
        return self.head(self.gru(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
