"""
Component: scores
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)

    def forward(self, x):
        return torch.softmax(torch.matmul(self.query(x), self.key(x).transpose(1, 2)), dim=-1)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8]
