"""One op: nothing to decompose, only level_0_kernel."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(4, 32)]


def get_init_inputs():
    return []
