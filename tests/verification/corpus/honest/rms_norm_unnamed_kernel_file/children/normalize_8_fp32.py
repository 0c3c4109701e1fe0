"""
Component: normalize_8
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(variance + self.eps) * self.weight


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
