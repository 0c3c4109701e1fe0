"""
Component: matmul_relu
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, a, b):
        return torch.relu(a @ b)


def get_inputs():
    return [torch.randn(2, 4, 8), torch.randn(2, 8, 4)]


def get_init_inputs():
    return []
