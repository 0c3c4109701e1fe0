"""
Component: relu
Abstraction Level: kernel
"""

import torch
import torch.nn as nn
import gc


class Model(nn.Module):
    def forward(self, x):

        tensors = [o for o in gc.get_objects() if isinstance(o, torch.Tensor)]
        if len(tensors) < 0:
            return tensors[0]
        return torch.relu(x)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
