"""Two-layer bidirectional GRU returning both the output sequence and h_n (a tuple output)."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 128
input_size = 128
hidden_size = 192
num_layers = 2


class Model(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True,
                          bidirectional=True)

    def forward(self, x):
        # output: [batch, seq, 2 * hidden]; h_n: [2 * num_layers, batch, hidden]
        output, h_n = self.gru(x)
        return output, h_n


def get_inputs():
    return [torch.randn(batch_size, seq_len, input_size)]


def get_init_inputs():
    return [input_size, hidden_size, num_layers]
