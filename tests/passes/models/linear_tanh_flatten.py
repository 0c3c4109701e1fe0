"""nn.Linear (one kernel, several aten ops), an inline tanh, an nn.Flatten (plumbing) (form_kernels)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.fc = nn.Linear(12, 6)

    def forward(self, x):
        return torch.tanh(self.fc(self.flat(x)))


def get_inputs():
    return [torch.randn(2, 3, 4)]


def get_init_inputs():
    return []
