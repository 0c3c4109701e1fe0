"""
Component: silu
Abstraction Level: kernel
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        return F.silu(x)


def get_inputs():
    return [torch.randn(2, 8, 32, dtype=torch.float16)]


def get_init_inputs():
    return []
