"""A RegNetX-200MF-style network: stem, four stages of grouped-conv bottleneck blocks, head."""
import torch
import torch.nn as nn

batch_size = 4
depths = [1, 1, 4, 7]
widths = [24, 56, 152, 368]
group_width = 8
num_classes = 1000


def conv_bn_act(in_ch, out_ch, kernel_size, stride=1, groups=1, act=True):
    layers = [
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class XBlock(nn.Module):
    """1x1 conv, grouped 3x3 conv (carries the stride), 1x1 conv, residual."""

    def __init__(self, in_ch, out_ch, stride, group_width):
        super().__init__()
        groups = out_ch // group_width
        self.a = conv_bn_act(in_ch, out_ch, 1)
        self.b = conv_bn_act(out_ch, out_ch, 3, stride=stride, groups=groups)
        self.c = conv_bn_act(out_ch, out_ch, 1, act=False)
        if stride != 1 or in_ch != out_ch:
            self.proj = conv_bn_act(in_ch, out_ch, 1, stride=stride, act=False)
        else:
            self.proj = None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(self.c(self.b(self.a(x))) + shortcut)


class Model(nn.Module):
    def __init__(self, depths, widths, group_width, num_classes=1000):
        super().__init__()
        self.stem = conv_bn_act(3, 32, 3, stride=2)
        stages = []
        prev = 32
        for depth, width in zip(depths, widths):
            blocks = [XBlock(prev, width, 2, group_width)]
            blocks += [XBlock(width, width, 1, group_width) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            prev = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(prev, num_classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def get_inputs():
    return [torch.randn(batch_size, 3, 224, 224)]


def get_init_inputs():
    return [depths, widths, group_width, num_classes]
