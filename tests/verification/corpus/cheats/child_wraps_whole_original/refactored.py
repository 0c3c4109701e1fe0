import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from mlp_block_fused_fp32 import Model as Block


class RefactoredModel(nn.Module):
    def __init__(self, d_model=8, d_hidden=16):
        super().__init__()
        self.block = Block(d_model, d_hidden)

    def forward(self, x):
        return self.block(x)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
