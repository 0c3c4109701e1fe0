"""
Component: mlp_fp16
Abstraction Level: layer
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, d=32, hidden=64):
        super().__init__()
        self.up = nn.Linear(d, hidden).to(torch.float16)
        self.down = nn.Linear(hidden, d).to(torch.float16)

    def forward(self, x):
        return x + self.down(F.silu(self.up(x)))


def get_inputs():
    return [torch.randn(2, 8, 32, dtype=torch.float16)]


def get_init_inputs():
    return [32, 64]
