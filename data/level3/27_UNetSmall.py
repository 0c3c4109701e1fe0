"""A small UNet: four down steps, a bottleneck, four up steps with ConvTranspose2d and cat skips."""
import torch
import torch.nn as nn

batch_size = 4
in_channels = 3
out_channels = 2
height = 128
width = 128
features = 32


class DoubleConv(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.block(x)


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, features):
        super().__init__()
        f = features
        widths = [f, 2 * f, 4 * f, 8 * f]
        self.downs = nn.ModuleList()
        prev = in_channels
        for w in widths:
            self.downs.append(DoubleConv(prev, w))
            prev = w
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(widths[-1], widths[-1] * 2)
        self.ups = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        prev = widths[-1] * 2
        for w in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(prev, w, kernel_size=2, stride=2))
            self.up_convs.append(DoubleConv(2 * w, w))
            prev = w
        self.head = nn.Conv2d(widths[0], out_channels, kernel_size=1)

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = up(x)
            x = conv(torch.cat([skip, x], dim=1))
        return self.head(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, features]
