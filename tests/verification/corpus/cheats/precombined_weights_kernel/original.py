"""
Component: low_rank_projection
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, r=4):
        super().__init__()
        self.down = nn.Linear(d, r, bias=False)
        self.up = nn.Linear(r, d, bias=False)

    def forward(self, x):
        return self.up(self.down(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 4]
