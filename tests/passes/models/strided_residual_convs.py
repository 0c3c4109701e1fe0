"""Two 3x3 convs of one shape, stride 1 and stride 2, then a residual add inside a conv+bn+relu
chain: names that differ only by stride or by the add must say so (assign_names)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2, padding=1, bias=False)
        self.conv3 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(self.bn(self.conv3(y)) + y)


def get_inputs():
    return [torch.randn(1, 4, 8, 8)]


def get_init_inputs():
    return []
