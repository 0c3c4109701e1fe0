"""
Component: softplus
Abstraction Level: fusion
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        return torch.log(1.0 + torch.exp(x))


def get_inputs():
    return [torch.randn(4, 16, 64)]


def get_init_inputs():
    return []
