"""A decoder-style block whose norm, activation and softmax are written inline in forward():
RMSNorm after a residual add, GELU-tanh spelled out, a softmax by hand, and a gate product of two
activations that is no one function (form_pattern_kernels)."""
import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 8):
        super().__init__()
        self.norm_weight = nn.Parameter(torch.ones(dim))
        self.up = nn.Linear(dim, 2 * dim)
        self.down = nn.Linear(2 * dim, dim)
        self.gate = nn.Linear(dim, dim)

    def forward(self, x, y):
        h = x + y  # a residual add: it reads two activations, so it is no part of the norm
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * self.norm_weight
        u = self.up(h)
        u = 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * torch.pow(u, 3.0))))
        d = self.down(u)
        e = torch.exp(d - d.amax(-1, keepdim=True))
        p = e / e.sum(-1, keepdim=True)
        return p * torch.sigmoid(self.gate(h))


def get_inputs():
    return [torch.randn(2, 3, 8), torch.randn(2, 3, 8)]


def get_init_inputs():
    return []
