import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 32)

    def forward(self, x):
        y = self.fc(x)
        return y @ torch.ones(16, 4)


def get_inputs(): return [torch.randn(2, 16)]
def get_init_inputs(): return []
