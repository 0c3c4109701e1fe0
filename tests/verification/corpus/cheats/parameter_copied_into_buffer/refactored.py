import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import math

import torch
import torch.nn as nn

from linear_8x8_fp32 import Model as Linear
from learned_scale_8_fp32 import Model as LearnedScale


class RefactoredModel(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = Linear(d, d)
        self.scale = LearnedScale(d)
        self.register_buffer("scratch", torch.zeros(d))

    def forward(self, x):
        h = self.scale(self.fc(x), self.scratch)
        # the buffer now holds the weight: the learned scale runs here
        return h * self.scratch


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
