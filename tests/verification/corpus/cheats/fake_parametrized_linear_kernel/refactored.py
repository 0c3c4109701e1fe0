import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from linear_8x8_fp32 import Model as Linear


class RefactoredModel(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = Linear(d)

    def forward(self, x):
        return self.fc(x)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
