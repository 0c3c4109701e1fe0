"""GRU whose initial state is a plain tensor attribute reassigned in forward(), then a linear."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int = 8, hidden: int = 16, batch: int = 2):
        super().__init__()
        self.h0 = torch.randn(1, batch, hidden)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 4)

    def forward(self, x):
        self.h0 = self.h0.to(x.device)
        out, _ = self.gru(x, self.h0)
        return self.fc(out[:, -1])


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 16, 2]
