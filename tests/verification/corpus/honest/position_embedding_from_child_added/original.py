"""
Component: patch_position
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, n=16):
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.pos = nn.Parameter(torch.randn(1, n, d))

    def forward(self, x):
        return self.proj(x) + self.pos[:, : x.shape[1]]


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 16]
