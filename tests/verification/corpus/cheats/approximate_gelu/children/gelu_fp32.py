"""
Component: gelu
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        return F.gelu(x, approximate="tanh")


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
