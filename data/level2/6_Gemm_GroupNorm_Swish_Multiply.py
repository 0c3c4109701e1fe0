"""Linear layer, GroupNorm over features, Swish, then multiply by a learned weight vector."""
import torch
import torch.nn as nn

batch_size = 256
in_features = 1024
out_features = 2048
num_groups = 16


class Model(nn.Module):
    def __init__(self, in_features, out_features, num_groups):
        super().__init__()
        self.gemm = nn.Linear(in_features, out_features)
        self.group_norm = nn.GroupNorm(num_groups, out_features)
        self.multiply_weight = nn.Parameter(torch.randn(out_features) * 0.1)

    def forward(self, x):
        x = self.gemm(x)
        x = self.group_norm(x)
        x = x * torch.sigmoid(x)
        return x * self.multiply_weight


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features, num_groups]
