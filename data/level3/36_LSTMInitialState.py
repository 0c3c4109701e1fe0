"""A stacked LSTM whose initial states are plain tensor attributes, moved in forward().

The pattern many benchmark RNNs use: `self.h0 = torch.randn(...)` in the constructor (neither a
parameter nor a buffer) and `self.h0 = self.h0.to(x.device)` in forward(); returns the final
hidden state of every layer and a classifier's logits on the last layer's.
"""
import torch
import torch.nn as nn

batch_size = 10
seq_len = 64
input_size = 128
hidden_size = 256
num_layers = 3
num_classes = 20


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
        _, (h_n, _) = self.lstm(x, (self.h0, self.c0))
        return self.fc(h_n[-1]), h_n


def get_inputs():
    return [torch.randn(batch_size, seq_len, input_size)]


def get_init_inputs():
    return [input_size, hidden_size, num_layers, num_classes]
