"""
Component: relu_chain
Abstraction Level: fusion
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        y = torch.relu(x)
        for _ in range(5):
            y = torch.relu(y)
        return y


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
