"""
Component: scale_norm_linear
Abstraction Level: fusion
"""

import math

import torch
import torch.nn as nn


class ScaleNorm(nn.Module):
    """ScaleNorm (Nguyen & Salazar, 2019): one learned scale over the L2-normalised vector."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.g = nn.Parameter(torch.tensor(math.sqrt(d)))
        self.eps = eps

    def forward(self, x):
        return x * self.g / x.norm(dim=-1, keepdim=True).clamp(min=self.eps)


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.norm = ScaleNorm(d)
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return self.fc(self.norm(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
