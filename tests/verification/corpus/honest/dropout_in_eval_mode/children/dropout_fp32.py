"""
Component: dropout
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.drop = nn.Dropout(p)

    def forward(self, x):
        return self.drop(x)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
