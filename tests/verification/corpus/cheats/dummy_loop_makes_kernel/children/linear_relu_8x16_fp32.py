"""
Component: linear_relu
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        h = torch.relu(self.linear(x))
        # a made-up "loop over time" so that the two ops above pass as one loop kernel
        for _ in range(16):
            h = torch.relu(h)  # h is already >= 0: changes nothing
        return h


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
