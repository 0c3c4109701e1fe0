"""Linear, LeakyReLU, clamp, multiply by a constant."""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 128
in_features = 2048
out_features = 2048
negative_slope = 0.2
clamp_min = -2.0
clamp_max = 2.0
multiplier = 3.0


class Model(nn.Module):
    def __init__(self, in_features, out_features, negative_slope, clamp_min, clamp_max,
                 multiplier):
        super().__init__()
        self.gemm = nn.Linear(in_features, out_features)
        self.negative_slope = negative_slope
        self.clamp_min = clamp_min
        self.clamp_max = clamp_max
        self.multiplier = multiplier

    def forward(self, x):
        x = self.gemm(x)
        x = F.leaky_relu(x, negative_slope=self.negative_slope)
        x = torch.clamp(x, self.clamp_min, self.clamp_max)
        return x * self.multiplier


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features, negative_slope, clamp_min, clamp_max, multiplier]
