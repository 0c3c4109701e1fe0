"""
Component: rms_norm_8
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
        # an RMSNorm, a SiLU and a tanh: three kernels under a norm's name
        h = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight
        return torch.tanh(h * torch.sigmoid(h))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
