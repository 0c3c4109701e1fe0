"""
Component: scale
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * self.gain


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
