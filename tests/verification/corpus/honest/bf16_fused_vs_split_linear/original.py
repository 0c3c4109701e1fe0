"""
Component: linear_gelu_bf16
Abstraction Level: layer
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.fc = nn.Linear(d, d).to(torch.bfloat16)

    def forward(self, x):
        return F.gelu(self.fc(x))


def get_inputs():
    return [torch.randn(4, 16, 64, dtype=torch.bfloat16)]


def get_init_inputs():
    return [64]
