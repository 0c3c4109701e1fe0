"""Tiny pre-norm MLP with a residual: a fusion-level root (4 kernels)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 16, hidden: int = 32):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


def get_inputs():
    return [torch.randn(2, 4, 16)]


def get_init_inputs():
    return [16, 32]
