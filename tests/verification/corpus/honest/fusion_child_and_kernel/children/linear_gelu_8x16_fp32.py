"""
Component: linear_gelu
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.linear = nn.Linear(d, h)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.linear(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
