import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from attention_8_fp32 import Model as Attention


class RefactoredModel(nn.Module):
    def __init__(self, d=8, heads=2):
        super().__init__()
        self.attn = Attention(d, heads)

    def forward(self, x):
        return self.attn(x) + x


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 2]
