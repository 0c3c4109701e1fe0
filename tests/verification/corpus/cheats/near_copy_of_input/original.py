"""
Component: tiny_update
Abstraction Level: layer
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return x + torch.tanh(self.fc(x)) * 2e-6


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
