"""Transformer cross-attention block with two inputs: query tokens and a context sequence."""
import math

import torch
import torch.nn as nn

batch_size = 8
query_len = 256
context_len = 77
dim = 512
context_dim = 768
n_heads = 8


class Model(nn.Module):
    def __init__(self, dim, context_dim, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = dim // n_heads
        self.norm_q = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, context):
        b, t, d = x.shape
        s = context.shape[1]
        q = self.to_q(self.norm_q(x)).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.to_k(context).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        v = self.to_v(context).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.to_out(out)
        return x + self.ff(self.norm_ff(x))


def get_inputs():
    return [torch.randn(batch_size, query_len, dim), torch.randn(batch_size, context_len, context_dim)]


def get_init_inputs():
    return [dim, context_dim, n_heads]
