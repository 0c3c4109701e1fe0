"""
Component: grouped_mlp
Abstraction Level: layer
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d_model=8, d_hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_model)

    def forward(self, x):
        b, t, _ = x.shape
        h = self.fc1(x).view(b, t, 2, 8).permute(0, 2, 1, 3)
        h = torch.relu(h)
        h = h.permute(0, 2, 1, 3).reshape(b, t, 16)
        return self.fc2(h) + x + x[:, :1]


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
