import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_8x8_bf16 import Model as Linear
from tanh_bf16 import Model as Tanh


class RefactoredModel(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = Linear(d, d)
        self.act = Tanh()

    def forward(self, x):
        return self.act(self.fc(x))


def get_inputs():
    return [torch.randn(2, 4, 8, dtype=torch.bfloat16)]


def get_init_inputs():
    return [8]
