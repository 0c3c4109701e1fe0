"""
Component: rope_proj
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, n=16):
        super().__init__()
        self.fc = nn.Linear(d, d)
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        ang = torch.arange(n).float()[:, None] * inv[None, :]
        ang = torch.cat([ang, ang], dim=-1)
        self.register_buffer("cos_t", ang.cos())
        self.register_buffer("sin_t", ang.sin())

    def forward(self, x):
        h = self.fc(x)
        t = h.shape[1]
        half = h.shape[-1] // 2
        rot = torch.cat([-h[..., half:], h[..., :half]], dim=-1)
        return h * self.cos_t[:t] + rot * self.sin_t[:t]


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 16]
