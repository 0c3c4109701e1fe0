import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_8x16_fp32 import Model as Linear
from relu_fp32 import Model as ReLU


class RefactoredModel(nn.Module):
    def __init__(self, d=8, h=16):
        super().__init__()
        self.fc = Linear(d, h)
        self.act = ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
