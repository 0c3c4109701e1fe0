"""Tiny MLP whose forward() branches on tensor values: only the real-tensor fallback traces it."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 16, hidden: int = 32):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        if torch.isnan(x).any():
            x = torch.nan_to_num(x)
        h = torch.relu(self.fc1(x))
        if int((h > 0).sum()) > 0:
            h = torch.tanh(h)
        return self.fc2(h)


def get_inputs():
    return [torch.randn(4, 16)]


def get_init_inputs():
    return [16, 32]
