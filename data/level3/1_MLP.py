"""A shallow, wide multi-layer perceptron classifier."""
import torch
import torch.nn as nn

batch_size = 64
input_size = 1024
layer_sizes = [4096, 4096]
output_size = 1000


class Model(nn.Module):
    def __init__(self, input_size, layer_sizes, output_size):
        super().__init__()
        layers = []
        prev = input_size
        for width in layer_sizes:
            layers.append(nn.Linear(prev, width))
            layers.append(nn.ReLU())
            prev = width
        layers.append(nn.Linear(prev, output_size))
        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)


def get_inputs():
    return [torch.randn(batch_size, input_size)]


def get_init_inputs():
    return [input_size, layer_sizes, output_size]
