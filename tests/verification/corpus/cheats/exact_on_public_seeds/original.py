"""
Component: cumsum
Abstraction Level: model
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=-1)


def get_inputs():
    return [torch.randn(2, 8)]


def get_init_inputs():
    return []
