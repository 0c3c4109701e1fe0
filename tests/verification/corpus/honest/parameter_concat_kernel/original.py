"""
Component: cls_token_position
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, n=4):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, n + 1, d))

    def forward(self, x):
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat([cls, x], dim=1) + self.pos


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 4]
