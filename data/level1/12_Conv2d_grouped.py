"""Grouped 2-D convolution (ResNeXt-style, 8 groups)."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 128
out_channels = 128
kernel_size = 3
groups = 8
height = 56
width = 56


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, groups):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=1, groups=groups, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, groups]
