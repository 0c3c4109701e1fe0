"""A stem, two equal 6-kernel blocks with a residual add, a 3-kernel head module: 16 kernels, a
model-level root whose blocks are layers (group_layers, dedup_workloads, assign_names)."""
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, 2 * dim)
        self.down = nn.Linear(2 * dim, dim)

    def forward(self, x):
        h = torch.relu(self.up(self.norm(x)))
        return x + torch.sigmoid(torch.tanh(self.down(h)))


class Head(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc = nn.Linear(dim, 3)

    def forward(self, x):
        return torch.sigmoid(torch.tanh(self.fc(x)))


class Model(nn.Module):
    def __init__(self, dim: int = 4):
        super().__init__()
        self.stem = nn.Linear(5, dim)
        self.blocks = nn.ModuleList([Block(dim) for _ in range(2)])
        self.head = Head(dim)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def get_inputs():
    return [torch.randn(2, 5)]


def get_init_inputs():
    return []
