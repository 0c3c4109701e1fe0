"""Residual MLP whose constructor reads tensor values (`.item()`), so it cannot run on meta."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 16, depth: int = 2):
        super().__init__()
        self.scales = [r.item() for r in torch.linspace(0.5, 1.0, depth)]
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(depth))

    def forward(self, x):
        for layer, scale in zip(self.layers, self.scales):
            x = x + scale * torch.relu(layer(x))
        return x


def get_inputs():
    return [torch.randn(4, 16)]


def get_init_inputs():
    return [16, 2]
