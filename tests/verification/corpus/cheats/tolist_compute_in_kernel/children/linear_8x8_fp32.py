"""
Component: linear_8x8
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


def _relu_rows(rows):
    return [[[v if v > 0.0 else 0.0 for v in row] for row in plane] for plane in rows]


class Model(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, d)

    def forward(self, x):
        y = self.linear(x)
        # the ReLU runs in Python, where no op is counted, and comes back as a "constant"
        return torch.tensor(_relu_rows(y.tolist()), dtype=y.dtype)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8]
