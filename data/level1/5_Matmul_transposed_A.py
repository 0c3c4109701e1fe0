"""Matrix multiplication with the first operand transposed: A.T @ B."""
import torch
import torch.nn as nn

M = 1024
K = 2048
N = 1536


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        # A is stored as [K, M]
        return torch.matmul(A.T, B)


def get_inputs():
    return [torch.randn(K, M), torch.randn(K, N)]


def get_init_inputs():
    return []
