"""A DenseNet-BC dense block: each layer sees the concatenation of all earlier feature maps."""
import torch
import torch.nn as nn

batch_size = 8
num_layers = 6
num_input_features = 64
growth_rate = 32
bn_size = 4
height = 56
width = 56


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 bottleneck followed by BN-ReLU-Conv3x3 producing growth_rate maps."""

    def __init__(self, in_features, growth_rate, bn_size):
        super().__init__()
        inter = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(in_features)
        self.conv1 = nn.Conv2d(in_features, inter, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(inter)
        self.conv2 = nn.Conv2d(inter, growth_rate, kernel_size=3, padding=1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.conv1(self.relu(self.norm1(x)))
        return self.conv2(self.relu(self.norm2(out)))


class Model(nn.Module):
    def __init__(self, num_layers, num_input_features, growth_rate, bn_size=4):
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
            for i in range(num_layers)
        )

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            new = layer(torch.cat(features, dim=1))
            features.append(new)
        return torch.cat(features, dim=1)


def get_inputs():
    return [torch.randn(batch_size, num_input_features, height, width)]


def get_init_inputs():
    return [num_layers, num_input_features, growth_rate, bn_size]
