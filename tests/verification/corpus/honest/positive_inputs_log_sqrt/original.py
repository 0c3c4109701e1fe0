"""
Component: log_sqrt_features
Abstraction Level: layer
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.fc = nn.Linear(2 * d, d)

    def forward(self, x):
        # x is a positive intensity: log and sqrt features
        return self.fc(torch.cat([torch.log(x), torch.sqrt(x)], dim=-1))


def get_inputs():
    return [torch.rand(2, 4, 16) + 0.1]


def get_init_inputs():
    return [16]
