"""
Component: packed_causal_scores
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    """Causal scores over packed sequences, the mask built the way transformers 5 builds it:
    sequence starts found with diff/ne, numbered by cumsum, combined with `&`."""

    def __init__(self, d=8, t=6):
        super().__init__()
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)

    def forward(self, x):
        T = x.shape[1]
        att = torch.matmul(self.query(x), self.key(x).transpose(1, 2)) * (1.0 / math.sqrt(x.shape[-1]))
        pos = torch.arange(T, device=x.device) % 3
        starts = torch.diff(pos, prepend=pos[:1] - 1) != 1
        seq = torch.cumsum(starts, dim=-1)
        keep = (seq[:, None] == seq[None, :]) & (pos[None, :] <= pos[:, None])
        att = att.masked_fill(~keep, float("-inf"))
        return torch.softmax(att, dim=-1)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 6]
