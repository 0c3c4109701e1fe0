"""2-D transposed convolution that doubles spatial resolution."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 128
out_channels = 64
kernel_size = 4
stride = 2
padding = 1
height = 32
width = 32


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size,
                                         stride=stride, padding=padding)

    def forward(self, x):
        return self.deconv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding]
