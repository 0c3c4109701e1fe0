"""A ResNet-shaped net: a stem, then two stages (nn.Sequential) of two residual blocks of six
kernels each. A stage (12 kernels) would fit a layer; the repeated block is the layer
(group_layers)."""
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(h)) + x)


class Model(nn.Module):
    def __init__(self, channels: int = 4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
        self.stage1 = nn.Sequential(Block(channels), Block(channels))
        self.stage2 = nn.Sequential(Block(channels), Block(channels))

    def forward(self, x):
        return self.stage2(self.stage1(self.stem(x)))


def get_inputs():
    return [torch.randn(1, 3, 8, 8)]


def get_init_inputs():
    return []
