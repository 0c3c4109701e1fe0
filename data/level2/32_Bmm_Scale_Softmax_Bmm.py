"""Batched attention-like pattern: bmm, scale, softmax, bmm with a third input."""
import math

import torch
import torch.nn as nn

batch_size = 64
seq_len = 256
dim = 64


class Model(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, q, k, v):
        scores = torch.bmm(q, k.transpose(1, 2)) * self.scale
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights, v)


def get_inputs():
    shape = (batch_size, seq_len, dim)
    return [torch.randn(shape), torch.randn(shape), torch.randn(shape)]


def get_init_inputs():
    return [dim]
