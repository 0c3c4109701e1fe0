"""ConvTranspose3d, add a learned scalar, LayerNorm over channels-last width, AvgPool3d, GELU."""
import torch
import torch.nn as nn

batch_size = 4
in_channels = 16
out_channels = 32
depth = 8
height = 16
width = 16
kernel_size = (3, 3, 3)
stride = (2, 2, 2)
padding = (1, 1, 1)
output_padding = (1, 1, 1)
pool_kernel_size = (2, 2, 2)


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding,
                 output_padding, pool_kernel_size):
        super().__init__()
        self.deconv = nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride=stride,
                                         padding=padding, output_padding=output_padding)
        self.shift = nn.Parameter(torch.tensor(1.0))
        # normalizes the trailing (width) dimension of the upsampled volume
        self.norm = nn.LayerNorm(2 * width)
        self.pool = nn.AvgPool3d(pool_kernel_size)
        self.gelu = nn.GELU()

    def forward(self, x):
        x = self.deconv(x)
        x = x + self.shift
        x = self.norm(x)
        x = self.pool(x)
        return self.gelu(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, depth, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, output_padding,
            pool_kernel_size]
