"""2-D convolution with a non-square (1x7) kernel, as in Inception factorized convs."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 128
out_channels = 128
height = 35
width = 35


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        kh, kw = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2))

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, (1, 7)]
