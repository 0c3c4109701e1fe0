"""nn.TransformerEncoderLayer then nn.MultiheadAttention: builtins with submodules are split."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 16, heads: int = 2):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=32, dropout=0.0,
                                              batch_first=True)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        h = self.enc(x)
        out, weights = self.attn(h, x, x)
        return out, weights


def get_inputs():
    return [torch.randn(2, 6, 16)]


def get_init_inputs():
    return [16, 2]
