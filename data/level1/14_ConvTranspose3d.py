"""3-D transposed convolution upsampling a volume by 2 in every dimension."""
import torch
import torch.nn as nn

batch_size = 4
in_channels = 32
out_channels = 16
kernel_size = 3
stride = 2
padding = 1
output_padding = 1
depth = 8
height = 16
width = 16


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding):
        super().__init__()
        self.deconv = nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride=stride,
                                         padding=padding, output_padding=output_padding)

    def forward(self, x):
        return self.deconv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, depth, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, output_padding]
