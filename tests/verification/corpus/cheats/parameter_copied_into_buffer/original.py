"""
Component: scaled_proj
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.scale = nn.Parameter(torch.randn(d))

    def forward(self, x):
        return self.fc(x) * self.scale


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
