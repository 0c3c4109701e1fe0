import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from gate_8x8_fp32 import Model as Gate
from linear_8x8_fp32 import Model as Linear


class RefactoredModel(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = Linear(d, d)
        self.gate = Gate(d, d)
        self.register_buffer("stash", torch.zeros(2, 5, d))

    def forward(self, x):
        # the gate child parks its activation in a buffer, so the product looks like a mask's
        x = self.gate(x, self.stash)
        return self.fc(x) * self.stash


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
