"""Matrix multiplication with the second operand transposed: A @ B.T."""
import torch
import torch.nn as nn

M = 1024
K = 2048
N = 1536


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        # B is stored as [N, K], like a linear layer weight
        return torch.matmul(A, B.T)


def get_inputs():
    return [torch.randn(M, K), torch.randn(N, K)]


def get_init_inputs():
    return []
