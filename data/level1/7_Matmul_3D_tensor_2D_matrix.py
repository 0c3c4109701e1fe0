"""A 3-D tensor times a 2-D matrix: [B, S, K] @ [K, N] -> [B, S, N]."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 256
K = 1024
N = 1024


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(batch_size, seq_len, K), torch.randn(K, N)]


def get_init_inputs():
    return []
