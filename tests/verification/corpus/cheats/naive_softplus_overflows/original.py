"""
Component: softplus_linear
Abstraction Level: layer
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc1 = nn.Linear(d, d)
        self.fc2 = nn.Linear(d, d)

    def forward(self, x):
        return self.fc2(self.fc1(F.softplus(x)))


def get_inputs():
    return [torch.randn(4, 16, 64)]


def get_init_inputs():
    return [64]
