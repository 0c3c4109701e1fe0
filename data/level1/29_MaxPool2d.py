"""2-D max pooling, 3x3 window with stride 2 and padding 1 (ResNet stem style)."""
import torch
import torch.nn as nn

batch_size = 16
channels = 64
height = 112
width = 112


class Model(nn.Module):
    def __init__(self, kernel_size=3, stride=2, padding=1):
        super().__init__()
        self.pool = nn.MaxPool2d(kernel_size, stride=stride, padding=padding)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(batch_size, channels, height, width)]


def get_init_inputs():
    return [3, 2, 1]
