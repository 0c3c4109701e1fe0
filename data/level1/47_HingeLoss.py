"""Hinge loss for binary classification with targets in {-1, +1}."""
import torch
import torch.nn as nn

batch_size = 4096
dim = 256


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return torch.clamp(1 - predictions * targets, min=0).mean()


def get_inputs():
    targets = torch.randint(0, 2, (batch_size, dim)).float() * 2 - 1
    return [torch.randn(batch_size, dim), targets]


def get_init_inputs():
    return []
