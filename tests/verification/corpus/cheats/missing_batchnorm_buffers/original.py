"""
Component: linear_bn_relu
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.fc = nn.Linear(c, c)
        self.bn = nn.BatchNorm1d(c)

    def forward(self, x):
        return torch.relu(self.bn(self.fc(x)))


def get_inputs():
    return [torch.randn(4, 8)]


def get_init_inputs():
    return [8]
