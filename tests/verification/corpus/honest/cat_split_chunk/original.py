"""
Component: split_activations
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        a, b = x.chunk(2, dim=-1)
        c, d = torch.split(b, [2, 2], dim=-1)
        return torch.cat([torch.relu(a), torch.sigmoid(c), d], dim=-1)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
