"""
Component: relu
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Quiet(torch.overrides.TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))

class Model(nn.Module):
    def forward(self, x):

        with Quiet():
            return torch.relu(x)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
