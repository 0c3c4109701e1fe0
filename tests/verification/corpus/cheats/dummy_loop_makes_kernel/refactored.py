import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_16x8_fp32 import Model as Linear16x8
from linear_relu_8x16_fp32 import Model as Linear8x16


class RefactoredModel(nn.Module):
    def __init__(self, d_model=8, d_hidden=16):
        super().__init__()
        self.fc1 = Linear8x16(d_model, d_hidden)
        self.fc2 = Linear16x8(d_hidden, d_model)

    def forward(self, x):
        return self.fc2(self.fc1(x)) + x


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
