"""
Component: gated_projection
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.gate = nn.Linear(d, d)

    def forward(self, x):
        return self.fc(x) * self.gate(x)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
