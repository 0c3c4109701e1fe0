"""A decoder block written by hand: attention scores scaled and masked, a softmax, the values;
then a SwiGLU MLP. Thirteen kernels, a layer-level root (group_fusions: recognised patterns)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, dim: int = 8, hidden: int = 16, tokens: int = 4):
        super().__init__()
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)
        self.register_buffer("mask", torch.full((tokens, tokens), -1e4).triu(1))

    def forward(self, x):
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        scores = q @ k.transpose(-2, -1) / 8 ** 0.5 + self.mask
        h = x + self.o_proj(F.softmax(scores, dim=-1) @ v)
        return h + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
