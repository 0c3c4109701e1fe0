"""
Component: optional_projection
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, use_proj=True):
        super().__init__()
        self.use_proj = use_proj
        self.fc = nn.Linear(d, d)
        if use_proj:
            self.proj = nn.Linear(d, d)

    def forward(self, x):
        h = torch.relu(self.fc(x))
        if self.use_proj:
            x = self.proj(x)
        return h + x


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, True]
