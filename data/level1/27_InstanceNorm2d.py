"""2-D instance normalization (per sample, per channel)."""
import torch
import torch.nn as nn

batch_size = 16
num_features = 64
height = 128
width = 128


class Model(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.norm = nn.InstanceNorm2d(num_features, affine=True)

    def forward(self, x):
        return self.norm(x)


def get_inputs():
    return [torch.randn(batch_size, num_features, height, width)]


def get_init_inputs():
    return [num_features]
