"""
Component: cls_token_patches
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, d))
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat([cls, self.proj(x)], dim=1)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
