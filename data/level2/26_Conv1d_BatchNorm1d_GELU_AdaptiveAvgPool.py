"""Conv1d over a feature sequence, BatchNorm1d, GELU, adaptive average pool to a fixed length."""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 16
in_channels = 80
out_channels = 256
length = 2048
kernel_size = 5
output_length = 64


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, output_length):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.bn = nn.BatchNorm1d(out_channels)
        self.pool = nn.AdaptiveAvgPool1d(output_length)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        x = F.gelu(x)
        return self.pool(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, length)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, output_length]
