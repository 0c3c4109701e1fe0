"""
Component: log
Abstraction Level: kernel
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        return torch.log(x)


def get_inputs():
    return [torch.rand(2, 4, 16) + 0.1]


def get_init_inputs():
    return []
