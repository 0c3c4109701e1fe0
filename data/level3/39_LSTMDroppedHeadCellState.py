"""A stacked LSTM whose classifier head runs but whose result is dropped: forward() returns the
final cell state of every layer.

Benchmark RNNs are often cut from a full model this way. The head is dead code that the model
still executes, so its kernel has no consumer; lowering once failed on it in code generation.
"""
import torch
import torch.nn as nn

batch_size = 8
seq_len = 48
input_size = 64
hidden_size = 96
num_layers = 2
num_classes = 10


class Model(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__()
        self.h0 = torch.randn((num_layers, batch_size, hidden_size))
        self.c0 = torch.randn((num_layers, batch_size, hidden_size))
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        self.h0 = self.h0.to(x.device)
        self.c0 = self.c0.to(x.device)
        out, state = self.lstm(x, (self.h0, self.c0))
        logits = self.fc(out[:, -1, :])  # computed, then dropped
        return state[1]


def get_inputs():
    return [torch.randn(batch_size, seq_len, input_size)]


def get_init_inputs():
    return [input_size, hidden_size, num_layers, num_classes]
