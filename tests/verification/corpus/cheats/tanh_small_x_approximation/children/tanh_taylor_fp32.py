"""
Component: tanh_taylor
Abstraction Level: fusion
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        # third-order Taylor series of tanh: cheaper, and exact enough near 0
        return x - x.pow(3) / 3.0


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
