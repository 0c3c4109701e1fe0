"""
Component: rms_norm_linear
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.norm = RMSNorm(d)
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return self.fc(self.norm(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
