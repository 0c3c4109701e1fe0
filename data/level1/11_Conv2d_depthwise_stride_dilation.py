"""Depthwise 2-D convolution (groups == channels) with stride 2 and dilation 2."""
import torch
import torch.nn as nn

batch_size = 16
channels = 96
kernel_size = 3
stride = 2
dilation = 2
height = 112
width = 112


class Model(nn.Module):
    def __init__(self, channels, kernel_size, stride, dilation):
        super().__init__()
        self.conv = nn.Conv2d(
            channels, channels, kernel_size,
            stride=stride, padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation, groups=channels, bias=False,
        )

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(batch_size, channels, height, width)]


def get_init_inputs():
    return [channels, kernel_size, stride, dilation]
