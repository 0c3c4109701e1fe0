"""Square linear layer, GELU, then a residual add with the block input."""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 16
seq_len = 256
features = 1024


class Model(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.linear = nn.Linear(features, features)

    def forward(self, x):
        return x + F.gelu(self.linear(x))


def get_inputs():
    return [torch.randn(batch_size, seq_len, features)]


def get_init_inputs():
    return [features]
