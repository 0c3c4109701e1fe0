"""A residual conv net with stochastic depth whose drop rates are computed with `.item()`.

The constructor reads tensor values (`[r.item() for r in torch.linspace(...)]`, as timm models
do), so it cannot run on the meta device; in eval mode every DropPath is the identity.
"""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 3
width = 64
depth = 6
num_classes = 100
image_size = 64


class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


class ResidualBlock(nn.Module):
    def __init__(self, channels, drop):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.drop = DropPath(drop)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(x + self.drop(y))


class Model(nn.Module):
    def __init__(self, in_channels, width, depth, num_classes, drop_path_rate=0.2):
        super().__init__()
        rates = [r.item() for r in torch.linspace(0, drop_path_rate, depth)]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(width, r) for r in rates])
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


def get_inputs():
    return [torch.randn(batch_size, in_channels, image_size, image_size)]


def get_init_inputs():
    return [in_channels, width, depth, num_classes]
