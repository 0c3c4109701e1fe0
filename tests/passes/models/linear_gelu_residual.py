"""Linear+sigmoid and Linear+GELU chains, a Linear after an anchor, a residual add and a fan-out:
seven kernels, a layer-level root (group_fusions)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, dim: int = 4):
        super().__init__()
        self.fc0 = nn.Linear(dim, dim)
        self.fc1 = nn.Linear(dim, 2 * dim)
        self.fc2 = nn.Linear(2 * dim, dim)
        self.fc3 = nn.Linear(dim, dim)

    def forward(self, x):
        x = torch.sigmoid(self.fc0(x))
        # fc2 is a second anchor: it starts its own group instead of joining fc1+gelu
        h = self.fc2(F.gelu(self.fc1(x)))
        # the residual add is plumbing of the parent, between the groups
        x = x + h
        h = self.fc3(x)
        # fc3's output is read twice (fan-out): tanh may not fuse into it
        return torch.tanh(h) + h


def get_inputs():
    return [torch.randn(2, 4)]


def get_init_inputs():
    return []
