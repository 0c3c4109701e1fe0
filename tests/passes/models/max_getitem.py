"""A multi-output op (`max` over a dim: values and indices) unpacked by getitem (form_kernels)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        values, indices = torch.max(x, dim=-1)
        return torch.relu(values), indices


def get_inputs():
    return [torch.randn(3, 5)]


def get_init_inputs():
    return []
