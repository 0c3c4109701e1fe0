"""
Component: scale_norm_8
Abstraction Level: kernel
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.g = nn.Parameter(torch.tensor(math.sqrt(d)))
        self.eps = eps

    def forward(self, x):
        return x * self.g / x.norm(dim=-1, keepdim=True).clamp(min=self.eps)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
