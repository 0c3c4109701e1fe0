"""
Component: causal_scores
Abstraction Level: layer
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=8, t=5):
        super().__init__()
        self.query = nn.Linear(d, d)
        self.register_buffer("mask", torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1))

    def forward(self, x):
        q = self.query(x)
        scores = torch.matmul(q, x.transpose(1, 2)) * (1.0 / math.sqrt(q.shape[-1]))
        scores = scores.masked_fill(self.mask, float("-inf"))
        return torch.softmax(scores, dim=-1)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 5]
