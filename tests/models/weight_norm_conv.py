"""Convolutions under torch.nn.utils.parametrizations.weight_norm: the weight is computed."""
import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import weight_norm


class Model(nn.Module):
    def __init__(self, channels: int = 8):
        super().__init__()
        self.conv1 = weight_norm(nn.Conv1d(channels, 16, 3, padding=1))
        self.conv2 = weight_norm(nn.Conv1d(16, channels, 3, padding=1))

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))


def get_inputs():
    return [torch.randn(2, 8, 32)]


def get_init_inputs():
    return [8]
