"""Two inputs: linear(x), add y, multiply by y, ReLU (a gated residual)."""
import torch
import torch.nn as nn

batch_size = 128
in_features = 1024
out_features = 1024


class Model(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.gemm = nn.Linear(in_features, out_features)

    def forward(self, x, y):
        x = self.gemm(x)
        x = x + y
        x = x * y
        return torch.relu(x)


def get_inputs():
    return [torch.randn(batch_size, in_features), torch.randn(batch_size, out_features)]


def get_init_inputs():
    return [in_features, out_features]
