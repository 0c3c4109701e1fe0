"""A position-table slice read by two multiplies far apart (sink_weight_chains)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, max_len: int = 16, dim: int = 8):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(max_len, dim))

    def forward(self, x):
        t = x.shape[0]
        p = self.pos[:t]
        h = torch.tanh(x * p)
        h = torch.sigmoid(h)
        return h * p


def get_inputs():
    return [torch.randn(4, 8)]


def get_init_inputs():
    return []
