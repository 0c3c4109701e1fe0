"""
Component: rope_tables
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        ang = torch.arange(n).float()[:, None] * inv[None, :]
        ang = torch.cat([ang, ang], dim=-1)
        self.register_buffer("cos_t", ang.cos())
        self.register_buffer("sin_t", ang.sin())

    def forward(self, x):
        t = x.shape[1]
        return self.cos_t[:t], self.sin_t[:t]


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [16, 8]
