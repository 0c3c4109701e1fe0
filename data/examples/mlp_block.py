"""A transformer-style MLP block: LayerNorm, Linear, GELU, Linear, plus a residual."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 128
d_model = 768
d_hidden = 3072


class Model(nn.Module):
    def __init__(self, d_model=d_model, d_hidden=d_hidden):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(d_hidden, d_model)

    def forward(self, x):
        h = self.fc2(self.act(self.fc1(self.norm(x))))
        return x + h


def get_inputs():
    return [torch.randn(batch_size, seq_len, d_model)]


def get_init_inputs():
    return [d_model, d_hidden]
