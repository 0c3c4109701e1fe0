"""
Component: head_softmax
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=16, heads=2):
        super().__init__()
        self.heads = heads
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        B, T, C = x.shape
        h = self.proj(x).view(B, T, self.heads, C // self.heads).transpose(1, 2)
        h = torch.softmax(h, dim=-1)
        return h.transpose(1, 2).reshape(B, T, C).contiguous()


def get_inputs():
    return [torch.randn(2, 5, 16)]


def get_init_inputs():
    return [16, 2]
