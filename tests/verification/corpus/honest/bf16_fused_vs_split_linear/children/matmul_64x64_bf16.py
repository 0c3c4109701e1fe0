"""
Component: matmul
Abstraction Level: kernel
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=torch.bfloat16))
        nn.init.normal_(self.weight, std=0.05)

    def forward(self, x):
        return torch.matmul(x, self.weight.t())


def get_inputs():
    return [torch.randn(4, 16, 64, dtype=torch.bfloat16)]


def get_init_inputs():
    return [64, 64]
