"""Linear, sigmoid, row sum, then logsumexp across the batch to a scalar."""
import torch
import torch.nn as nn

batch_size = 512
input_size = 1024
hidden_size = 2048


class Model(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = nn.Linear(input_size, hidden_size)

    def forward(self, x):
        x = torch.sigmoid(self.linear(x))
        x = torch.sum(x, dim=1)
        return torch.logsumexp(x, dim=0)


def get_inputs():
    return [torch.randn(batch_size, input_size)]


def get_init_inputs():
    return [input_size, hidden_size]
