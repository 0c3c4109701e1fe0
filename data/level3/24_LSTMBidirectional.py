"""Two-layer bidirectional LSTM; the last time step of both directions feeds a linear layer."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 128
input_size = 128
hidden_size = 192
num_layers = 2
output_size = 10


class Model(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, output_size, dropout=0.0):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True,
                            dropout=dropout, bidirectional=True)
        self.fc = nn.Linear(hidden_size * 2, output_size)

    def forward(self, x):
        out, _ = self.lstm(x)          # [batch, seq, 2 * hidden]
        return self.fc(out[:, -1, :])


def get_inputs():
    return [torch.randn(batch_size, seq_len, input_size)]


def get_init_inputs():
    return [input_size, hidden_size, num_layers, output_size]
