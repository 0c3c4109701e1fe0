"""Four Conv+ReLU+Conv+ReLU+MaxPool stages in one nn.Sequential: 20 kernels cut after each pool
(group_layers)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, ch: int = 2, stages: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(stages):
            layers += [nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


def get_inputs():
    return [torch.randn(1, 2, 16, 16)]


def get_init_inputs():
    return []
