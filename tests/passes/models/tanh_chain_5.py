"""5 tanh kernels in a row: the root is at fusion level (the most kernels a fusion holds) (classify_levels)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x):
        for _ in range(self.n):
            x = torch.tanh(x)
        return x


def get_inputs():
    return [torch.randn(2, 3)]


def get_init_inputs():
    return [5]
