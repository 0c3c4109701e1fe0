"""
Component: packed_gru_head
Abstraction Level: layer
"""

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Model(nn.Module):
    def __init__(self, d_in=8, d_hidden=16):
        super().__init__()
        self.gru = nn.GRU(d_in, d_hidden, batch_first=True)
        self.head = nn.Linear(d_hidden, d_in)

    def forward(self, x):
        packed = pack_padded_sequence(x, [4, 3], batch_first=True, enforce_sorted=True)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=4)
        return self.head(out)


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 16]
