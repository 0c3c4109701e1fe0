"""Three-layer GRU (sequence-first) returning the final hidden state h_n."""
import torch
import torch.nn as nn

seq_len = 128
batch_size = 16
input_size = 128
hidden_size = 256
num_layers = 3


class Model(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers)

    def forward(self, x):
        # x: [seq, batch, input_size]; h_n: [num_layers, batch, hidden]
        _, h_n = self.gru(x)
        return h_n


def get_inputs():
    return [torch.randn(seq_len, batch_size, input_size)]


def get_init_inputs():
    return [input_size, hidden_size, num_layers]
