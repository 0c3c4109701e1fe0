"""A flat nn.Sequential of ten Linear+ReLU pairs: 20 loose kernels cut into balanced layers that
never split a Linear from its ReLU (group_layers)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 4, depth: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(dim, dim), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def get_inputs():
    return [torch.randn(2, 4)]


def get_init_inputs():
    return []
