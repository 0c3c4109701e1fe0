"""
Component: self_attention
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, heads=2):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0] + x


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 2]
