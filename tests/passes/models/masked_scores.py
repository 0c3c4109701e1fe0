"""A two-op weight-only chain (`~mask[:t, :t]`) read by two masked_fills (sink_weight_chains)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, seq: int = 8):
        super().__init__()
        self.register_buffer("mask", torch.tril(torch.ones(seq, seq, dtype=torch.bool)))

    def forward(self, a, b):
        t = a.shape[-1]
        hide = ~self.mask[:t, :t]
        a = torch.softmax(a.masked_fill(hide, float("-inf")), dim=-1)
        return a + b.masked_fill(hide, 0.0)


def get_inputs():
    return [torch.randn(2, 4, 4), torch.randn(2, 4, 4)]


def get_init_inputs():
    return []
