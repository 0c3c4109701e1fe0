"""Standard 1-D convolution over a sequence."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 128
out_channels = 256
kernel_size = 5
length = 1024


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, length)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size]
