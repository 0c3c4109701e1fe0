"""A forward() with a number argument and a dict return value."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 16):
        super().__init__()
        self.fc1 = nn.Linear(dim, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x, scale: float = 2.0):
        h = torch.relu(self.fc1(x)) * scale
        return {"logits": self.fc2(h), "hidden": h}


def get_inputs():
    return [torch.randn(4, 16), 3.0]


def get_init_inputs():
    return [16]
