"""
Component: learned_scale
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(d))

    def forward(self, x, out):
        out.copy_(self.scale)
        return x


def get_inputs():
    return [torch.randn(2, 5, 8), torch.zeros(8)]


def get_init_inputs():
    return [8]
