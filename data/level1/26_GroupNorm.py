"""Group normalization of a feature map with 32 groups."""
import torch
import torch.nn as nn

batch_size = 16
num_channels = 128
num_groups = 32
height = 64
width = 64


class Model(nn.Module):
    def __init__(self, num_groups, num_channels):
        super().__init__()
        self.gn = nn.GroupNorm(num_groups, num_channels)

    def forward(self, x):
        return self.gn(x)


def get_inputs():
    return [torch.randn(batch_size, num_channels, height, width)]


def get_init_inputs():
    return [num_groups, num_channels]
