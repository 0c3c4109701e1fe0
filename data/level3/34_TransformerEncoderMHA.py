"""Two nn.TransformerEncoderLayer blocks, then nn.MultiheadAttention pooling with learned queries.

torch.nn builtins that are many ops each (attention with packed in-projection weights, post-norm
residual blocks) and a tuple output: the pooled tokens and the averaged attention weights.
"""
import torch
import torch.nn as nn

batch_size = 8
seq_len = 128
d_model = 256
n_heads = 8
ff_dim = 1024
num_layers = 2
num_queries = 16


class Model(nn.Module):
    def __init__(self, d_model, n_heads, ff_dim, num_layers, num_queries):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=ff_dim, dropout=0.0,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.queries = nn.Parameter(torch.randn(1, num_queries, d_model) * 0.02)
        self.pool = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x):
        h = self.encoder(x)
        q = self.queries.expand(x.shape[0], -1, -1)
        pooled, weights = self.pool(q, h, h)
        return self.norm(pooled), weights


def get_inputs():
    return [torch.randn(batch_size, seq_len, d_model)]


def get_init_inputs():
    return [d_model, n_heads, ff_dim, num_layers, num_queries]
