"""
Component: affine
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return x * self.weight + self.bias


def get_inputs():
    return [torch.randn(4, 8)]


def get_init_inputs():
    return [8]
