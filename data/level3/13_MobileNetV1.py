"""MobileNet v1: a stack of depthwise-separable convolutions (width multiplier configurable)."""
import torch
import torch.nn as nn

batch_size = 4
num_classes = 1000
input_channels = 3
alpha = 1.0


def conv_bn(in_ch, out_ch, stride):
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def conv_dw(in_ch, out_ch, stride):
    """Depthwise 3x3 then pointwise 1x1, each followed by BN and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, 3, stride=stride, padding=1, groups=in_ch, bias=False),
        nn.BatchNorm2d(in_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_ch, out_ch, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class Model(nn.Module):
    def __init__(self, num_classes=1000, input_channels=3, alpha=1.0):
        super().__init__()

        def c(ch):
            return int(ch * alpha)

        # (out_channels, stride) for each depthwise-separable layer
        plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
        layers = [conv_bn(input_channels, c(32), 2)]
        prev = c(32)
        for out_ch, stride in plan:
            layers.append(conv_dw(prev, c(out_ch), stride))
            prev = c(out_ch)
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.model = nn.Sequential(*layers)
        self.fc = nn.Linear(prev, num_classes)

    def forward(self, x):
        x = self.model(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


def get_inputs():
    return [torch.randn(batch_size, input_channels, 224, 224)]


def get_init_inputs():
    return [num_classes, input_channels, alpha]
