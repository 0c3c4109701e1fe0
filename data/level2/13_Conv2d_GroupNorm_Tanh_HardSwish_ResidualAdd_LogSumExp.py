"""Conv2d, GroupNorm, tanh, HardSwish, residual add with the conv output, channel logsumexp."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 16
out_channels = 64
height = 64
width = 64
kernel_size = 3
groups = 8


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, groups, eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.group_norm = nn.GroupNorm(groups, out_channels, eps=eps)
        self.tanh = nn.Tanh()
        self.hard_swish = nn.Hardswish()

    def forward(self, x):
        x_conv = self.conv(x)
        x = self.group_norm(x_conv)
        x = self.tanh(x)
        x = self.hard_swish(x)
        x = x_conv + x
        return torch.logsumexp(x, dim=1, keepdim=True)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, groups]
