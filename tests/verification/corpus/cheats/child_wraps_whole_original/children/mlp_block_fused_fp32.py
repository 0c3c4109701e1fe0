"""
Component: mlp_block_fused
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d_model, d_hidden):
        super().__init__()
        self.up = nn.Linear(d_model, d_hidden)
        self.down = nn.Linear(d_hidden, d_model)

    def forward(self, x):
        hidden = self.up(x).clamp_min(0.0)
        return self.down(hidden) + x


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
