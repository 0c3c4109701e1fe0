"""Standard 2-D convolution, 3x3 kernel, padding 1, on 224x224 images."""
import torch
import torch.nn as nn

batch_size = 8
in_channels = 3
out_channels = 64
kernel_size = 3
height = 224
width = 224


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size]
