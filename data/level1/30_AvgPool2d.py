"""2-D average pooling with a 2x2 window and stride 2."""
import torch
import torch.nn as nn

batch_size = 16
channels = 128
height = 112
width = 112


class Model(nn.Module):
    def __init__(self, kernel_size=2, stride=2):
        super().__init__()
        self.pool = nn.AvgPool2d(kernel_size, stride=stride)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(batch_size, channels, height, width)]


def get_init_inputs():
    return [2, 2]
