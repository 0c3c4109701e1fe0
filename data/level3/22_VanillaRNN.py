"""Elman RNN unrolled as an explicit Python loop over time with nn.Linear cells."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 128
input_size = 128
hidden_size = 256
output_size = 64


class Model(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # x: [batch, seq, input_size]
        b, t, _ = x.shape
        h = torch.zeros(b, self.hidden_size, dtype=x.dtype, device=x.device)
        outputs = []
        for step in range(t):
            h = torch.tanh(self.i2h(x[:, step]) + self.h2h(h))
            outputs.append(self.h2o(h))
        return torch.stack(outputs, dim=1)


def get_inputs():
    return [torch.randn(batch_size, seq_len, input_size)]


def get_init_inputs():
    return [input_size, hidden_size, output_size]
