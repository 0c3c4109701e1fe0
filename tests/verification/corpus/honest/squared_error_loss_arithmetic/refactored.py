import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import math

import torch
import torch.nn as nn

from linear_8x8_fp32 import Model as Linear
from mean_fp32 import Model as Mean


class RefactoredModel(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = Linear(d, d)
        self.mean = Mean()

    def forward(self, x, target):
        # the spec's loss arithmetic stays in the parent
        return self.mean((self.fc(x) - target) ** 2)


def get_inputs():
    return [torch.randn(2, 5, 8), torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
