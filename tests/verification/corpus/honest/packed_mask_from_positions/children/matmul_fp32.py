"""
Component: matmul
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


def get_inputs():
    return [torch.randn(2, 5, 8), torch.randn(2, 8, 5)]


def get_init_inputs():
    return []
