import torch
import torch.nn as nn

from children.cumsum_lookup import Model as Cumsum


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.cumsum = Cumsum()

    def forward(self, x):
        return self.cumsum(x)


def get_inputs():
    return [torch.randn(2, 8)]


def get_init_inputs():
    return []
