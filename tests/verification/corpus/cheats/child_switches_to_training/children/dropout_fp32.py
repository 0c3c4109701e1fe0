"""
Component: dropout
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        self.drop.train()
        return self.drop(x)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
