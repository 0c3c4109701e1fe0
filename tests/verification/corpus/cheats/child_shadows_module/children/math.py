"""
Component: math
Abstraction Level: kernel
"""
import torch
import torch.nn as nn


def sqrt(v):
    return v ** 0.5


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)
