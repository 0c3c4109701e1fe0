"""
Component: linear_8x8
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Linear):
    def __init__(self, d):
        super().__init__(d, d)
        # what weight_norm leaves on a module: the old verifier then counted the base class
        # (nn.Linear) as the builtin and the ReLU below as part of it
        self.parametrizations = nn.ModuleDict()

    def forward(self, x):
        return torch.relu(super().forward(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
